"""Reference diagrams for basin-topo's sublevel module.

Reference tool: gudhi==3.13.0 (SimplexTree, lower-star filtration,
compute_persistence with homology_coeff_field=2), numpy 2.4.6, scipy 1.17.1.
Run: python make_sublevel.py  (writes sublevel_reference.json next to it)

Each case: points (rounded to 1e-6 so the text is exact), function values,
k. The kNN graph is built here independently of basin: the k nearest
neighbours of each point by euclidean distance (itself excluded, ties by
smaller index), union-symmetrised. Vertices enter at f, edges at max f,
triangles (flag mode, SimplexTree.expansion(2)) at max f. gudhi drops bars of
zero persistence (min_persistence=0 keeps persistence > 0), as basin does by
default. Infinite deaths are written as null.

"bridged": the same on the kNN graph joined into one component by the
shortest bridges (basin's default connectivity), computed here with
scipy.sparse.csgraph.minimum_spanning_tree on the full distance matrix where
every pair weighs 1 + its distance and kNN edges weigh 0.5 (scipy treats 0,
and tiny values such as 1e-9, as "no edge"; a constant added to every
candidate bridge keeps Kruskal's order): the tree edges that are not kNN
edges are the bridges.
"""
import json
import os

import gudhi
import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist

assert gudhi.__version__ == "3.13.0", gudhi.__version__


def knn_edges(d, k):
    n = d.shape[0]
    edges = set()
    for i in range(n):
        idx = np.array([j for j in range(n) if j != i])
        order = np.lexsort((idx, d[i, idx]))  # by distance, then index
        for j in idx[order[:k]]:
            edges.add((min(i, j), max(i, j)))
    return sorted(edges)


def bridged_edges(d, edges):
    w = np.array(d, dtype=float, copy=True) + 1.0
    for i, j in edges:
        w[i, j] = w[j, i] = 0.5
    np.fill_diagonal(w, 0.0)
    tree = minimum_spanning_tree(w).tocoo()
    bridges = {(int(min(i, j)), int(max(i, j))) for i, j, x in zip(tree.row, tree.col, tree.data) if x >= 1.0}
    return sorted(set(edges) | bridges)


def bridged(n, f, d, edges):
    b = bridged_edges(d, edges)
    return {"n_edges": len(b), "graph": diagrams(n, f, b, flag=False), "flag": diagrams(n, f, b, flag=True)}


def diagrams(n, f, edges, flag):
    st = gudhi.SimplexTree()
    for v in range(n):
        st.insert([v], filtration=float(f[v]))
    for i, j in edges:
        st.insert([int(i), int(j)], filtration=float(max(f[i], f[j])))
    if flag:
        st.expansion(2)
        st.compute_persistence(homology_coeff_field=2, persistence_dim_max=False)
    else:
        st.compute_persistence(homology_coeff_field=2, persistence_dim_max=True)
    out = {}
    for dim in (0, 1):
        bars = st.persistence_intervals_in_dimension(dim)
        out[f"d{dim}"] = [[float(b), None if np.isinf(e) else float(e)] for b, e in bars]
    out["n_simplices"] = st.num_simplices()
    return out


def case(name, pts, f, k, metric="euclidean"):
    """With metric="euclidean" basin recomputes the distances from the
    points; otherwise the (symmetrised, rounded) matrix itself is stored."""
    pts = np.round(pts, 6)
    f = np.round(f, 6)
    d = cdist(pts, pts, metric)
    if metric != "euclidean":
        d = np.round((d + d.T) / 2, 12)
        np.fill_diagonal(d, 0.0)
    edges = knn_edges(d, k)
    return {
        "name": name,
        "k": k,
        "points": pts.tolist(),
        "distances": None if metric == "euclidean" else d.tolist(),
        "values": f.tolist(),
        "n_edges": len(edges),
        "graph": diagrams(len(pts), f, edges, flag=False),
        "flag": diagrams(len(pts), f, edges, flag=True),
        "bridged": bridged(len(pts), f, d, edges),
    }


rng = np.random.default_rng(20260101)
cases = []

# Random blobs, random function: many minima, many short bars.
pts = rng.normal(size=(60, 2)) + np.repeat(rng.normal(scale=4, size=(3, 2)), 20, axis=0)
cases.append(case("blobs_n60_k5", pts, rng.uniform(size=60), 5))

# Noisy annulus with a height function: a large loop filled late in flag
# mode, plus two separated clusters (more than one component at small k).
t = rng.uniform(0, 2 * np.pi, size=150)
r = 1 + 0.1 * rng.normal(size=150)
pts = np.c_[r * np.cos(t), r * np.sin(t)]
pts[:10] += 10.0
cases.append(case("annulus_n150_k4", pts, pts[:, 1] + 0.05 * rng.normal(size=150), 4))

# A trajectory-like cloud: a random walk in R^5 with restarts, a smooth
# loss-like function; the paper's k = 20.
steps = rng.normal(scale=0.3, size=(300, 5))
steps[::40] = rng.normal(scale=3, size=(8, 5))
walk = np.cumsum(steps, axis=0)
loss = np.sin(walk[:, 0]) + 0.3 * np.cos(2 * walk[:, 1]) + 0.05 * rng.normal(size=300)
cases.append(case("walk_n300_k20", walk, loss, 20))

# Ties in the function: many vertices share values (a quantised loss).
pts = rng.uniform(size=(80, 3))
cases.append(case("ties_n80_k6", pts, np.round(rng.uniform(size=80) * 5) / 5, 6))

# Real PHATE potential distances: 200 digits, cosine, made by phate 2.0.0 for
# basin-phate's reference (crates/basin-phate/tests/reference/make_reference.py);
# copied here (row-major little-endian f64) so this crate's tests stand alone.
here = os.path.dirname(os.path.abspath(__file__))
phate_src = os.path.join(here, "../../../../basin-phate/tests/reference/digits_cosine_auto/pot_dist.bin")
pot = np.fromfile(phate_src, dtype="<f8")
side = int(round(np.sqrt(pot.size)))
pot = pot.reshape(side, side)
pot.astype("<f8").tofile(os.path.join(here, "phate_digits200_pot_dist.bin"))
# A loss-like function: distance (in potential space) to checkpoint 0, noisy.
f = np.round(pot[0] + 0.05 * rng.normal(size=side), 6)
edges = knn_edges(pot, 20)
cases.append({
    "name": "phate_digits200_k20",
    "k": 20,
    "points": [],
    "distances": None,
    "distances_bin": "phate_digits200_pot_dist.bin",
    "values": f.tolist(),
    "n_edges": len(edges),
    "graph": diagrams(side, f, edges, flag=False),
    "flag": diagrams(side, f, edges, flag=True),
    "bridged": bridged(side, f, pot, edges),
})

# A given (non-euclidean) matrix, like PHATE's cosine potential distances.
pts = rng.normal(size=(70, 10)) + 2.0
cases.append(case("cosine_matrix_n70_k7", pts, rng.uniform(size=70), 7, metric="cosine"))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sublevel_reference.json"), "w") as fh:
    json.dump({"gudhi": gudhi.__version__, "cases": cases}, fh)
for c in cases:
    print(c["name"], "edges", c["n_edges"], "graph", len(c["graph"]["d0"]), len(c["graph"]["d1"]),
          "flag", len(c["flag"]["d0"]), len(c["flag"]["d1"]), "simplices", c["flag"]["n_simplices"],
          "bridged edges", c["bridged"]["n_edges"])
