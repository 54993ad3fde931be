"""Side-by-side timing: basin-topo sublevel persistence and diagram distances
against gudhi (and persim), same inputs, one run, ratios printed.

Reference tools: gudhi==3.13.0 (SimplexTree.insert_batch + expansion +
compute_persistence; bottleneck_distance(e=0); gudhi.wasserstein with POT),
persim==0.4.1 (bottleneck), numpy, scipy.
Usage (from the repository root, with a venv holding those packages,
pinned: gudhi==3.13.0 persim==0.4.1 POT==0.9.7.post1 numpy==2.4.6 scipy==1.17.1):
    python benches/topo_summaries_side_by_side.py [--only sublevel|distances]
Set BASIN_WORKSPACE to run cargo from another workspace root.

basin's side is run by the crate's bench binaries in their side-by-side mode
(`BASIN_TOPO_SIDE_BY_SIDE=<input.json> cargo bench -p basin-topo --bench
sublevel|distance`), which print best-of-N wall times as JSON lines. Both
sides get the same distance matrix (computed outside the timing) and time
the kNN graph, the filtration and the persistence; best of N runs each.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import version

import gudhi
import gudhi.wasserstein
import numpy as np
import persim
from scipy.spatial.distance import cdist

assert gudhi.__version__ == "3.13.0", gudhi.__version__
assert version("persim") == "0.4.1", version("persim")
assert version("POT") == "0.9.7.post1", version("POT")
ap = argparse.ArgumentParser()
ap.add_argument("--only", choices=["sublevel", "distances"], default=None)
ARGS = ap.parse_args()
warnings.simplefilter("ignore")

ROOT = os.environ.get("BASIN_WORKSPACE", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(2026)


def best_of(repeats, f):
    best, value = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        value = f()
        best = min(best, time.perf_counter() - t)
    return best, value


def run_basin(bench, cases):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"cases": cases}, fh)
    env = dict(os.environ, BASIN_TOPO_SIDE_BY_SIDE=fh.name)
    out = subprocess.run(["cargo", "bench", "-q", "-p", "basin-topo", "--bench", bench],
                         cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    os.unlink(fh.name)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# ---------------------------------------------------------------- sublevel
def walk(n, dim=5):
    steps = rng.normal(scale=0.3, size=(n, dim))
    steps[:: max(n // 8, 1)] = rng.normal(scale=3, size=(len(steps[:: max(n // 8, 1)]), dim))
    w = np.cumsum(steps, axis=0)
    loss = np.sin(w[:, 0]) + 0.3 * np.cos(2 * w[:, 1]) + 0.05 * rng.normal(size=n)
    return np.round(w, 6), np.round(loss, 6)


def gudhi_sublevel(d, f, k, flag):
    n = len(f)
    dd = d.copy()
    np.fill_diagonal(dd, np.inf)
    nn = np.argpartition(dd, k - 1, axis=1)[:, :k]
    i = np.repeat(np.arange(n), k)
    j = nn.ravel()
    e = np.unique(np.sort(np.c_[i, j], axis=1), axis=0)
    st = gudhi.SimplexTree()
    st.insert_batch(np.arange(n)[None, :], f)
    st.insert_batch(e.T, np.maximum(f[e[:, 0]], f[e[:, 1]]))
    if flag:
        st.expansion(2)
    st.compute_persistence(homology_coeff_field=2, persistence_dim_max=not flag)
    return sum(len(st.persistence_intervals_in_dimension(q)) for q in (0, 1))


sub_cases = []
for n, repeats in [(300, 10), (700, 5)]:
    pts, loss = walk(n)
    sub_cases.append({"name": f"walk_n{n}_k20", "points": pts.tolist(), "values": loss.tolist(), "k": 20, "repeats": repeats})

# (Generated in any case, so the random diagrams below do not depend on --only.)
if ARGS.only == "distances":
    sub_cases = []
basin_sub = {(r["case"], r["mode"]): r for r in run_basin("sublevel", sub_cases)} if sub_cases else {}
rows = []
for c in sub_cases:
    pts, f = np.array(c["points"]), np.array(c["values"])
    d = cdist(pts, pts)
    for mode in ("graph", "flag"):
        t, bars = best_of(c["repeats"], lambda: gudhi_sublevel(d, f, c["k"], mode == "flag"))
        b = basin_sub[(c["name"], mode)]
        assert b["bars"] == bars, (c["name"], mode, b["bars"], bars)
        rows.append((f"sublevel {mode} {c['name']}", b["seconds"], "gudhi", t))

# ---------------------------------------------------------------- distances
def diagram(n):
    b = rng.uniform(0, 1, size=n)
    return np.round(np.c_[b, b + rng.exponential(0.3, size=n)], 6)


dist_cases = []
for n, repeats in [(100, 5), (300, 3), (1000, 3)]:
    dist_cases.append({"name": f"random_{n}", "a": diagram(n).tolist(), "b": diagram(n).tolist(), "repeats": repeats})
# Vietoris-Rips D0 style: every birth 0 (basin's exact line program).
d0 = lambda n: np.round(np.c_[np.zeros(n), rng.exponential(1.0, n)], 6)
dist_cases.append({"name": "births0_700", "a": d0(700).tolist(), "b": d0(700).tolist(), "repeats": 3})
if ARGS.only == "sublevel":
    dist_cases = []
basin_dist = {(r["case"], r["distance"]): r for r in run_basin("distance", dist_cases)} if dist_cases else {}
for c in dist_cases:
    a, b = np.array(c["a"]), np.array(c["b"])
    t, v = best_of(c["repeats"], lambda: gudhi.bottleneck_distance(a, b, e=0))
    r = basin_dist[(c["name"], "bottleneck")]
    assert abs(r["value"] - v) < 1e-9, (r, v)
    rows.append((f"bottleneck {c['name']}", r["seconds"], "gudhi e=0", t))
    if len(a) <= 300:  # persim's bottleneck takes ~17 s at 700 bars
        t, v = best_of(c["repeats"], lambda: persim.bottleneck(a, b))
        assert abs(r["value"] - v) < 1e-9, (r, v)
        rows.append((f"bottleneck {c['name']}", r["seconds"], "persim", t))
    for p in (1.0, 2.0):
        t, v = best_of(c["repeats"], lambda: gudhi.wasserstein.wasserstein_distance(a, b, order=p, internal_p=np.inf))
        r = basin_dist[(c["name"], f"wasserstein{p:g}")]
        assert abs(r["value"] - v) < 1e-9 * max(1, v), (r, v)
        rows.append((f"wasserstein p={p:g} {c['name']}", r["seconds"], "gudhi (POT)", t))
    # persim: W1 with the L2 ground metric, scipy linear_sum_assignment on the
    # same (n+m)² augmented matrix as basin's Hungarian.
    t, v = best_of(c["repeats"], lambda: persim.wasserstein(a, b))
    r = basin_dist[(c["name"], "wasserstein1_l2")]
    assert abs(r["value"] - v) < 1e-9 * max(1, v), (r, v)
    rows.append((f"wasserstein p=1 L2 {c['name']}", r["seconds"], "persim", t))

print(f"{'task':<34} {'basin s':>10} {'reference':>12} {'ref s':>10} {'basin/ref':>10}")
for task, tb, ref, tr in rows:
    print(f"{task:<34} {tb:>10.5f} {ref:>12} {tr:>10.5f} {tb / tr:>10.3f}")
sys.stdout.flush()
