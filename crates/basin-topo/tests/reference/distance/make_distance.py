"""Reference distances for basin-topo's distance module.

Reference tools: gudhi==3.13.0 (bottleneck_distance with e=0, exact;
gudhi.wasserstein.wasserstein_distance, exact optimal transport via POT),
persim==0.4.1 (bottleneck: L-inf; wasserstein: p = 1 with the L2 ground
metric), pot (POT, used by gudhi.wasserstein).
Run: python make_distance.py  (writes distance_reference.json next to it)

Diagrams are rounded to 1e-6 so the JSON text is exact. Infinite deaths and
infinite distances are written as null.
"""
import json
import os
import warnings

import gudhi
import gudhi.wasserstein
import numpy as np
import persim

assert gudhi.__version__ == "3.13.0", gudhi.__version__
from importlib.metadata import version
assert version("persim") == "0.4.1", version("persim")
warnings.simplefilter("ignore")

rng = np.random.default_rng(6)


def random_diagram(n, scale=1.0, grid=None):
    b = rng.uniform(0, scale, size=n)
    d = b + rng.exponential(scale / 3, size=n)
    if grid:  # coarse values: ties and equal distances
        b, d = np.round(b * grid) / grid, np.round(d * grid) / grid
    return np.round(np.c_[b, d], 6)


def num(x):
    """JSON has no infinity: an infinite distance is written as null."""
    return None if np.isinf(x) else float(x)


def encode(dgm):
    return [[float(b), None if np.isinf(d) else float(d)] for b, d in dgm]


cases = []


def add(name, a, b, essential=False):
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    c = {"name": name, "a": encode(a), "b": encode(b)}
    c["bottleneck_gudhi"] = num(gudhi.bottleneck_distance(a, b, e=0))
    c["wasserstein_linf"] = {
        str(p): num(gudhi.wasserstein.wasserstein_distance(
            a, b, order=p, internal_p=np.inf, keep_essential_parts=True))
        for p in (1.0, 2.0, 3.5)
    }
    c["wasserstein_l2"] = {
        str(p): num(gudhi.wasserstein.wasserstein_distance(
            a, b, order=p, internal_p=2.0, keep_essential_parts=True))
        for p in (1.0, 2.0)
    }
    if not essential:
        c["bottleneck_persim"] = float(persim.bottleneck(a, b)) if len(a) and len(b) else None
        c["wasserstein_persim"] = float(persim.wasserstein(a, b)) if len(a) and len(b) else None
    cases.append(c)


add("empty_vs_three", np.zeros((0, 2)), [[0, 1], [0.5, 0.75], [2, 5]])
add("equal", [[0, 1], [0.5, 2]], [[0, 1], [0.5, 2]])
add("small_hand", [[0, 4]], [[0, 3], [1, 1.4]])
add("random_10_12", random_diagram(10), random_diagram(12))
add("random_40_35", random_diagram(40), random_diagram(35))
add("random_120_100", random_diagram(120, 3.0), random_diagram(100, 3.0))
add("ties_30_30", random_diagram(30, grid=8), random_diagram(30, grid=8))
add("with_diagonal_points", [[0, 0], [1, 1], [0, 2]], [[0.5, 0.5], [0, 1.5]])
# Vietoris-Rips D0 style: every birth 0 (basin's line dynamic program).
add("all_births_zero_200_150", np.c_[np.zeros(200), np.round(rng.exponential(1.0, 200), 6)],
    np.c_[np.zeros(150), np.round(rng.exponential(1.2, 150), 6)])
inf = np.inf
add("essential_same_count", [[0, inf], [0.3, inf], [0, 1], [0.2, 0.9]],
    [[0.1, inf], [0.5, inf], [0, 1.2]], essential=True)
add("essential_count_differs", [[0, inf], [0, 1]], [[0, 1]], essential=True)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "distance_reference.json"), "w") as fh:
    json.dump({"gudhi": gudhi.__version__, "persim": version("persim"), "cases": cases}, fh, allow_nan=False)
for c in cases:
    print(c["name"], c["bottleneck_gudhi"], c.get("bottleneck_persim"), c["wasserstein_linf"], c.get("wasserstein_persim"))
