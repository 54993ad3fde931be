"""Reference SMAD values for basin-landscape's tests/merge_tree.rs.

SMAD (saddle-minimum average distance) as Landscaper 1.x computes it in
`LossLandscape.smad(normalize, weighted)` (src/landscaper/landscape.py and
`saddle_minima_pairs` in src/landscaper/tda.py), re-stated here on topopy's
objects, because Landscaper itself needs PyTorch and builds its graph with
nglpy's empty-region graph: here both the merge tree and the Morse-Smale
complex are built by topopy on a prebuilt graph, the 4-neighbour grid that
basin's `grid_graph` makes, so the two implementations see the same graph.

* pairs: every merge-tree edge (n1, n2) with n1 or n2 in `mt.branches` (a
  saddle) and the other end a minimum of the Morse-Smale complex;
* gap = |f(n1) - f(n2)|, divided by (max f - min f) when normalised;
* weighted: mean of gap * |unstable manifold of the minimum| / N.

Landscapes: small grids of a few Gaussian wells plus noise (continuous
values, no ties), row-major, first axis slowest.

    python3 -m venv venv && venv/bin/pip install topopy==1.0.4 nglpy==1.1.7 numpy==1.26.4
    venv/bin/python make_smad.py      # writes smad_ref.json

Made with topopy 1.0.4, nglpy 1.1.7, numpy 1.26.4 (recorded in the JSON).
"""
import json
from importlib.metadata import version

import nglpy as ngl
import numpy as np
import topopy as tp


def grid_edges(shape):
    h, w = shape
    edges = []
    for i in range(h):
        for j in range(w):
            v = i * w + j
            if i + 1 < h:
                edges.append((v, v + w))
            if j + 1 < w:
                edges.append((v, v + 1))
    return edges


def smad(loss, coords, edges, normalize, weighted):
    mt = tp.MergeTree(graph=ngl.PrebuiltGraph(edges))
    mt.build(coords, loss)
    msc = tp.MorseSmaleComplex(graph=ngl.PrebuiltGraph(edges), gradient="steepest")
    msc.build(coords, loss)
    ti = {n: 0 if msc.get_classification(n) == "minimum" else 1 for n in mt.nodes}
    if len(mt.branches) == 0:
        return 0.0
    pairs = []
    for n1, n2 in mt.edges:
        if (n1 in mt.branches and ti[n2] == 0) or (n2 in mt.branches and ti[n1] == 0):
            pairs.append((n1, n2))
    um = msc.get_unstable_manifolds()
    rng = loss.max() - loss.min()
    gaps, vols = [], []
    for n1, n2 in pairs:
        minimum = n1 if ti[n1] == 0 else n2
        gap = abs(mt.nodes[n1] - mt.nodes[n2])
        gaps.append(gap / rng if normalize else gap)
        vols.append(len(um[minimum]) / len(loss))
    gaps, vols = np.array(gaps), np.array(vols)
    return float(np.mean(gaps * vols) if weighted else np.mean(gaps))


cases = []
for seed, (shape, wells) in enumerate([((9, 11), 3), ((12, 12), 5), ((7, 15), 4), ((10, 10), 1)]):
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    f = 0.3 * (xs**2 + ys**2)
    for _ in range(wells):
        cx, cy, depth, width = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.3, 1.0), rng.uniform(0.15, 0.4)
        f -= depth * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * width**2))
    f += 0.02 * rng.normal(size=shape)
    loss = f.ravel().astype(np.float64)
    coords = np.stack([ys.ravel(), xs.ravel()], axis=1)
    edges = grid_edges(shape)
    mt = tp.MergeTree(graph=ngl.PrebuiltGraph(edges))
    mt.build(coords, loss)
    case = {
        "shape": list(shape),
        "loss": loss.tolist(),
        "coords": coords.tolist(),
        "n_branches": len(mt.branches),
        "smad": smad(loss, coords, edges, False, False),
        "smad_normalized": smad(loss, coords, edges, True, False),
        "smad_weighted": smad(loss, coords, edges, True, True),
    }
    print(shape, wells, "branches", case["n_branches"], case["smad"], case["smad_normalized"], case["smad_weighted"])
    cases.append(case)

json.dump(
    {"tool": f"topopy {version('topopy')}, nglpy {version('nglpy')}, numpy {np.__version__}", "cases": cases},
    open("smad_ref.json", "w"),
)
