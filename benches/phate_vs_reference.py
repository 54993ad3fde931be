#!/usr/bin/env python3
"""Side-by-side: basin-phate vs phate 2.0.0 on gen_dla data, same thread count.

Reference tool: phate==2.0.0, graphtools==2.1.0 (numpy 2.4.6, scipy 1.17.1,
scikit-learn 1.9.1, numba not installed).

Command (from the repo root):
    export CARGO_TARGET_DIR=$HOME/.cache/basin/target-phate
    cargo build --release -p basin-phate --example phate_bench
    python3 -m venv venv && venv/bin/pip install phate==2.0.0 graphtools==2.1.0
    venv/bin/python benches/phate_vs_reference.py \
        --basin-bin $CARGO_TARGET_DIR/release/examples/phate_bench \
        --sizes 2000 5000 10000 20000 --threads 2

For every n: gen_dla(n_dim=100, n_branch=n/100, branch_length=100, seed=37);
both tools with their defaults (knn 5, decay 40, t auto, n_landmark 2000,
metric MDS by SGD, seed 42), each in its own process (so peak RSS is its own),
BLAS/OpenMP/rayon pinned to --threads, the two tools alternating --repeats
times (default 3); the time quoted is each tool's median, the speed-up the
ratio of the medians (all runs are printed too). Quality: DEMaP (Spearman between
geodesic distances on a k=10 kNN graph of the input and embedding distances)
over 1000 seeded sample points, sources on the full graph.

Real weight trajectories instead (one joint embedding, cosine distances for
the kNN graph and for DEMaP's, as the pipelines run it; needs pyarrow):
    venv/bin/pip install pyarrow
    venv/bin/python benches/phate_vs_reference.py --basin-bin ... --threads 2 \
        --trajectories pipelines/digits/out/trajectories/*.parquet
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def phate_child(path, n, threads, out, d=100, metric="euclidean"):
    import resource
    import phate
    x = np.fromfile(path).reshape(n, d)
    op = phate.PHATE(n_jobs=threads, random_state=42, verbose=0, knn_dist=metric)
    t0 = time.perf_counter()
    emb = op.fit_transform(x)
    secs = time.perf_counter() - t0
    np.ascontiguousarray(emb, dtype="<f8").tofile(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t = op.optimal_t if op.optimal_t is not None else op.t
    print(json.dumps({"seconds": secs, "t": int(t), "peak_mib": peak}))


def read_trajectories(paths):
    """Weights of every row of basin trajectories Parquet files, stacked
    (diverged rows left out, as `basin phate` does)."""
    import pyarrow.parquet as pq
    rows = []
    for p in paths:
        t = pq.read_table(p, columns=["weights", "diverged"])
        w = t.column("weights").combine_chunks()
        arr = np.asarray(w.values.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(len(w), -1)
        keep = ~np.asarray(t.column("diverged").to_numpy(zero_copy_only=False), dtype=bool)
        keep &= np.isfinite(arr).all(axis=1)
        rows.append(arr[keep])
    return np.vstack(rows)


def demap_sampled(x, emb, k=10, n_sample=1000, seed=0, metric="euclidean"):
    from scipy.sparse.csgraph import shortest_path
    from scipy.spatial.distance import pdist, squareform
    from scipy.stats import spearmanr
    from sklearn.neighbors import kneighbors_graph
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(x.shape[0], min(n_sample, x.shape[0]), replace=False))
    g = kneighbors_graph(x, k, mode="distance", metric=metric)
    g = g.maximum(g.T)
    geo = shortest_path(g, method="D", directed=False, indices=idx)[:, idx]
    iu = np.triu_indices(len(idx), 1)
    return float(spearmanr(geo[iu], squareform(pdist(emb[idx]))[iu])[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--basin-bin", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of each tool per input, alternating; the median time is quoted")
    ap.add_argument("--phate-child", nargs=5, metavar=("PATH", "N", "D", "METRIC", "OUT"))
    ap.add_argument("--trajectories", nargs="+", metavar="PARQUET",
                    help="instead of gen_dla: one joint embedding of these basin trajectories "
                         "files (weights column), cosine distances as the pipelines use")
    a = ap.parse_args()
    env = dict(os.environ)
    for v in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "RAYON_NUM_THREADS"]:
        env[v] = str(a.threads)
    if a.phate_child:
        path, n, d, metric, out = a.phate_child
        phate_child(path, int(n), a.threads, out, int(d), metric)
        return
    import phate
    tmp = tempfile.mkdtemp(prefix="phate_bench_")
    rows = []
    print(f"{'n':>6} {'tool':>6} {'median s':>8} {'peak MiB':>9} {'t':>4} {'DEMaP':>7}", flush=True)
    if a.trajectories:
        x = read_trajectories(a.trajectories)
        inputs = [(x, "cosine")]
        print(f"# {len(a.trajectories)} trajectories files: {x.shape[0]} points x {x.shape[1]} weights, cosine", flush=True)
    else:
        inputs = ((phate.tree.gen_dla(n_dim=100, n_branch=n // 100, branch_length=100, seed=37)[0], "euclidean")
                  for n in a.sizes)
    for x, metric in inputs:
        n, d = x.shape
        path = os.path.join(tmp, f"x_{n}.bin")
        np.ascontiguousarray(x, dtype="<f8").tofile(path)
        res = {}
        times = {"basin": [], "phate": []}
        # alternate the tools, --repeats runs each; quote the median time (the
        # embedding, t and DEMaP are those of the first run: both tools are seeded)
        for rep in range(a.repeats):
            for tool in ["basin", "phate"]:
                out = os.path.join(tmp, f"emb_{tool}_{n}.bin")
                if tool == "basin":
                    cmd = [a.basin_bin, path, str(n), str(d), str(a.threads), out]
                else:
                    cmd = [sys.executable, __file__, "--basin-bin", a.basin_bin, "--threads", str(a.threads),
                           "--phate-child", path, str(n), str(d), metric, out]
                p = subprocess.run(cmd, env={**env, "BASIN_PHATE_DISTANCE": metric}, capture_output=True,
                                   text=True, check=True)
                r = json.loads(p.stdout.strip().splitlines()[-1])
                times[tool].append(r["seconds"])
                if rep == 0:
                    emb = np.fromfile(out).reshape(n, 2)
                    r["demap"] = demap_sampled(x, emb, metric=metric)
                    res[tool] = r
                else:
                    res[tool]["peak_mib"] = max(res[tool]["peak_mib"], r["peak_mib"])
        for tool in ["basin", "phate"]:
            r = res[tool]
            r["runs"] = times[tool]
            r["seconds"] = float(np.median(times[tool]))
            runs = " ".join(f"{v:.2f}" for v in times[tool])
            print(f"{n:>6} {tool:>6} {r['seconds']:>8.2f} {r['peak_mib']:>9.1f} {r['t']:>4} {r['demap']:>7.4f}   runs: {runs}", flush=True)
        ratio = res["phate"]["seconds"] / res["basin"]["seconds"]
        print(f"{n:>6}  speed-up (ratio of medians) {ratio:.1f}x, DEMaP basin - phate = {res['basin']['demap'] - res['phate']['demap']:+.4f}", flush=True)
        rows.append({"n": n, "d": d, "metric": metric,
                     **{f"{t}_{k}": v for t in res for k, v in res[t].items()}, "speedup": ratio})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
