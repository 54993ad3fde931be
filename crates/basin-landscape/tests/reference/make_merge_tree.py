"""Reference H0 sublevel persistence for basin-landscape's tests/merge_tree.rs.

Grids: gudhi's CubicalComplex with values on the vertices (lower-star
filtration of the grid's cubical complex, whose 1-skeleton joins axis
neighbours). Sampled points: a gudhi SimplexTree of the (mutual) kNN graph
with vertex values and edges at the larger endpoint value. Pairs of zero
length are dropped (gudhi keeps persistence > 0 only).

    venv/bin/pip install gudhi numpy
    venv/bin/python make_merge_tree.py     # writes merge_tree_ref.json

Made with gudhi 3.13.0 and numpy 2.4.6 (also recorded in the JSON).
"""
import json

import gudhi
import numpy as np

rng = np.random.default_rng(2024)
cases = []


def h0(diagram):
    finite = sorted((b, d) for dim, (b, d) in diagram if dim == 0 and d != float("inf") and d > b)
    essential = sum(1 for dim, (b, d) in diagram if dim == 0 and d == float("inf"))
    return [list(p) for p in finite], essential


def grid_case(name, values):
    cc = gudhi.CubicalComplex(vertices=values)
    pairs, essential = h0(cc.persistence())
    cases.append({"name": name, "kind": "grid", "shape": list(values.shape), "values": values.ravel().tolist(), "pairs": pairs, "essential": essential})


def knn_edges(points, k, mutual):
    n = len(points)
    d = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    nearest = []
    for i in range(n):
        order = sorted((d[i, j], j) for j in range(n) if j != i)
        nearest.append({j for _, j in order[:k]})
    edges = set()
    for i in range(n):
        for j in nearest[i]:
            if not mutual or i in nearest[j]:
                edges.add((min(i, j), max(i, j)))
    return sorted(edges)


def knn_case(name, points, values, k, mutual):
    st = gudhi.SimplexTree()
    for i, v in enumerate(values):
        st.insert([i], filtration=float(v))
    for i, j in knn_edges(points, k, mutual):
        st.insert([i, j], filtration=float(max(values[i], values[j])))
    pairs, essential = h0(st.persistence())
    cases.append({"name": name, "kind": "knn", "points": points.tolist(), "k": k, "mutual": mutual, "values": values.tolist(), "pairs": pairs, "essential": essential})


grid_case("random 13x17", rng.random((13, 17)))
grid_case("random 7x6x5", rng.random((7, 6, 5)))
x, y = np.meshgrid(np.linspace(-2, 2, 31), np.linspace(-2, 2, 29), indexing="ij")
bumps = 2.0 - np.exp(-((x - 1) ** 2 + y**2) * 2) - 0.7 * np.exp(-((x + 1) ** 2 + (y - 0.5) ** 2) * 3) - 0.4 * np.exp(-(x**2 + (y + 1.2) ** 2) * 4)
grid_case("three basins 31x29", bumps + 1e-3 * rng.random(bumps.shape))
pts = rng.random((80, 2))
knn_case("knn k=8 2d", pts, np.sin(6 * pts[:, 0]) + np.cos(5 * pts[:, 1]) + 0.01 * rng.random(80), 8, False)
pts3 = rng.random((90, 3))
knn_case("mutual knn k=12 3d", pts3, np.sin(5 * pts3).sum(1) + 0.01 * rng.random(90), 12, True)

json.dump({"tool": f"gudhi {gudhi.__version__}, numpy {np.__version__}", "cases": cases}, open("merge_tree_ref.json", "w"))
for c in cases:
    print(c["name"], len(c["pairs"]), "finite pairs,", c["essential"], "essential")
