#!/usr/bin/env python3
"""Side-by-side timing of basin's Vietoris–Rips persistence against ripser.py
and giotto-ph (single thread) on every set of data/tda, with the parameters
of data/tda/README.md.

Reference tools (pin them): ripser==0.6.15, giotto-ph==0.2.4
    python3 -m venv venv && venv/bin/pip install ripser==0.6.15 giotto-ph==0.2.4
    cargo build --release -p basin-topo --example rips
    venv/bin/python benches/rips_vs_reference.py [--repeat 3] [--sets o3_1024,...]
    venv/bin/python benches/rips_vs_reference.py --threads 2 [--no-ripser]

With --threads N (N > 1) the multi-threaded modes are timed as well: basin
`--threads N` against giotto-ph `n_threads=N`, next to both single-threaded,
and the table gives basin(N)/giotto-ph(N) and each tool's speed-up. Within a
repeat the tools run one after the other, and repeats alternate the order,
so that a change of machine load hits every tool alike.

Each tool runs in its own process so that peak memory (max RSS) is its own.
Times: basin = the `compute_seconds` the example prints (input already
parsed, distances from points included); the Python tools = the wall time
of the `ripser(...)` / `ripser_parallel(...)` call (loading excluded).
Best of --repeat runs. Memory: peak RSS of the process; for the Python tools
also the growth over the RSS just before the call.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DATA = os.path.join(ROOT, "data", "tda")

SETS = [
    # name, file, basin format, maxdim, threshold, modulus
    ("sphere_3_192", "sphere_3_192.lower_distance_matrix", "lower-distance", 2, None, 2),
    ("o3_1024", "o3_1024.txt", "point-cloud", 3, 1.8, 2),
    ("random16_50", "random16_50pts.distmat.txt", "distance", 7, None, 2),
    ("projective_plane_z2", "projective_plane.csv", "distance", 2, None, 2),
    ("projective_plane_z3", "projective_plane.csv", "distance", 2, None, 3),
]

PY_RUNNER = r"""
import json, resource, sys, time
import numpy as np
tool, path, fmt, maxdim, thresh, coeff, threads = sys.argv[1:8]
maxdim, coeff, threads = int(maxdim), int(coeff), int(threads)
thresh = float("inf") if thresh == "none" else float(thresh)
text = open(path).read().replace(",", " ")
if fmt == "lower-distance":
    vals = [float(t) for t in text.split()]
    n = int(round((1 + (1 + 8 * len(vals)) ** 0.5) / 2))
    X = np.zeros((n, n)); X[np.tril_indices(n, -1)] = vals; X = X + X.T
    dm = True
else:
    X = np.array([[float(t) for t in l.split()] for l in text.splitlines() if l.strip()])
    dm = fmt == "distance"
if tool == "ripser":
    from ripser import ripser
    call = lambda: ripser(X, maxdim=maxdim, thresh=thresh, coeff=coeff, distance_matrix=dm)["dgms"]
else:
    from gph import ripser_parallel
    call = lambda: ripser_parallel(X, maxdim=maxdim, thresh=thresh, coeff=coeff,
                                   metric="precomputed" if dm else "euclidean", n_threads=threads)["dgms"]
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter(); dgms = call(); t = time.perf_counter() - t
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(seconds=t, rss_kib=rss1, growth_kib=rss1 - rss0, counts=[len(d) for d in dgms])))
"""


def basin_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "rips")
    if not os.path.exists(exe):
        sys.exit(f"build it first: cargo build --release -p basin-topo --example rips ({exe})")
    return exe


def run_basin(exe, path, fmt, maxdim, thresh, coeff, threads=1):
    cmd = [exe, path, "--format", fmt, "--dim", str(maxdim), "--modulus", str(coeff), "--threads", str(threads)]
    if thresh is not None:
        cmd += ["--threshold", str(thresh)]
    cmd = ["/usr/bin/time", "-f", "maxrss_kib: %M"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    secs = float(next(l for l in p.stderr.splitlines() if l.startswith("compute_seconds")).split()[1])
    rss = int(next(l for l in p.stderr.splitlines() if l.startswith("maxrss_kib")).split()[1])
    counts, dim = [], -1
    for line in p.stdout.splitlines():
        if line.startswith("persistence intervals in dim"):
            counts.append(0)
        elif line.startswith(" ["):
            counts[-1] += 1
    return dict(seconds=secs, rss_kib=rss, counts=counts)


def run_py(tool, path, fmt, maxdim, thresh, coeff, threads=1):
    args = [sys.executable, "-c", PY_RUNNER, tool, path, fmt, str(maxdim),
            "none" if thresh is None else str(thresh), str(coeff), str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    return json.loads(p.stdout.strip().splitlines()[-1])


def best(runs):
    return min(runs, key=lambda r: r["seconds"])


def threaded(exe, chosen, args):
    """basin and giotto-ph with 1 and N threads, alternating, best of --repeat."""
    n = args.threads
    print(f"{'set':22} {'basin 1':>8} {'basin ' + str(n):>8} {'gph 1':>8} {'gph ' + str(n):>8} "
          f"{'basin' + str(n) + '/gph' + str(n):>12} {'basin' + str(n) + '/gph1':>11} "
          f"{'basin speed-up':>14} {'gph speed-up':>12}  counts")
    for name, file, fmt, maxdim, thresh, coeff in chosen:
        path = os.path.join(DATA, file)
        runs = {key: [] for key in ("b1", "bn", "g1", "gn")}
        jobs = [
            ("b1", lambda: run_basin(exe, path, fmt, maxdim, thresh, coeff, 1)),
            ("bn", lambda: run_basin(exe, path, fmt, maxdim, thresh, coeff, n)),
            ("g1", lambda: run_py("gph", path, fmt, maxdim, thresh, coeff, 1)),
            ("gn", lambda: run_py("gph", path, fmt, maxdim, thresh, coeff, n)),
        ]
        for rep in range(args.repeat):
            for key, job in (jobs if rep % 2 == 0 else jobs[::-1]):
                runs[key].append(job())
        b1, bn, g1, gn = (best(runs[k]) for k in ("b1", "bn", "g1", "gn"))
        counts = {tuple(r["counts"]) for r in (b1, bn, g1, gn)}
        same = "ok" if len(counts) == 1 else f"MISMATCH {counts}"
        t = lambda r: max(r["seconds"], 1e-9)
        print(f"{name:22} {b1['seconds']:8.3f} {bn['seconds']:8.3f} {g1['seconds']:8.3f} {gn['seconds']:8.3f} "
              f"{t(bn) / t(gn):12.2f} {t(bn) / t(g1):11.2f} {t(b1) / t(bn):14.2f} {t(g1) / t(gn):12.2f}  {same}",
              flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sets", default="")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    exe = basin_binary()
    chosen = [s for s in SETS if not args.sets or s[0] in args.sets.split(",")]
    if args.threads > 1:
        threaded(exe, chosen, args)
        return
    print(f"{'set':22} {'basin s':>9} {'ripser.py s':>12} {'giotto-ph s':>12} {'basin/gph':>10} "
          f"{'basin/ripser':>13} {'basin MiB':>10} {'ripser MiB':>11} {'gph MiB':>8}  counts")
    for name, file, fmt, maxdim, thresh, coeff in chosen:
        path = os.path.join(DATA, file)
        b = best([run_basin(exe, path, fmt, maxdim, thresh, coeff) for _ in range(args.repeat)])
        r = best([run_py("ripser", path, fmt, maxdim, thresh, coeff) for _ in range(args.repeat)])
        g = best([run_py("gph", path, fmt, maxdim, thresh, coeff) for _ in range(args.repeat)])
        same = "ok" if b["counts"] == r["counts"] == g["counts"] else f"MISMATCH {b['counts']} {r['counts']} {g['counts']}"
        print(f"{name:22} {b['seconds']:9.3f} {r['seconds']:12.3f} {g['seconds']:12.3f} "
              f"{b['seconds'] / max(g['seconds'], 1e-9):10.2f} {b['seconds'] / max(r['seconds'], 1e-9):13.2f} "
              f"{b['rss_kib'] / 1024:10.1f} {r['growth_kib'] / 1024:11.1f} {g['growth_kib'] / 1024:8.1f}  {same}",
              flush=True)


if __name__ == "__main__":
    main()
