#!/usr/bin/env python3
"""Reference diagrams for basin-topo's Vietoris–Rips persistence.

Reference tool: ripser.py == 0.6.15 (pip install ripser==0.6.15), with
numpy 2.4.6, scikit-learn 1.9.1, scipy 1.17.1 (point-cloud distances are
sklearn's pairwise_distances, as inside ripser.py).

Writes, next to this script:
  * <case>.diagram       "dim birth death" per line, float32 repr, "inf" for essential
  * random_<k>.input     inputs of the random cases (generated here, fixed seeds)
  * cases.json           the parameters of every case (read by tests/rips_reference.rs)

Run: python3 make_reference.py   (from anywhere; paths are relative to this file)
"""
import json
import os

import numpy as np
import ripser

assert ripser.__version__ == "0.6.15", ripser.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "..", "data", "tda"))


def write_diagram(name, dgms):
    with open(os.path.join(HERE, name + ".diagram"), "w") as f:
        for dim, dgm in enumerate(dgms):
            for b, d in np.asarray(dgm, dtype=np.float32):
                f.write(f"{dim} {repr(float(b))} {'inf' if np.isinf(d) else repr(float(d))}\n")


def load_lower(path):
    vals = [float(t) for t in open(path).read().replace(",", " ").split()]
    n = int(round((1 + np.sqrt(1 + 8 * len(vals))) / 2))
    d = np.zeros((n, n))
    d[np.tril_indices(n, -1)] = vals
    return d + d.T


def load_full(path):
    rows = [[float(t) for t in line.replace(",", " ").split()] for line in open(path) if line.strip()]
    return np.array(rows)


cases = []


def case(name, file, fmt, maxdim, thresh=None, coeff=2, metric="euclidean", X=None, dm=True):
    kw = dict(maxdim=maxdim, coeff=coeff)
    if thresh is not None:
        kw["thresh"] = thresh
    if dm:
        res = ripser.ripser(X, distance_matrix=True, **kw)
    else:
        res = ripser.ripser(X, metric=metric, **kw)
    write_diagram(name, res["dgms"])
    cases.append(dict(name=name, file=file, format=fmt, max_dim=maxdim,
                      threshold=thresh, modulus=coeff, metric=metric,
                      counts=[len(g) for g in res["dgms"]]))
    print(name, [len(g) for g in res["dgms"]])


# The shared data sets with the parameters of data/tda/README.md.
case("sphere_3_192", "data/tda/sphere_3_192.lower_distance_matrix", "lower", 2,
     X=load_lower(os.path.join(DATA, "sphere_3_192.lower_distance_matrix")))
case("o3_1024", "data/tda/o3_1024.txt", "points", 3, thresh=1.8, dm=False,
     X=np.loadtxt(os.path.join(DATA, "o3_1024.txt")))
case("random16_50", "data/tda/random16_50pts.distmat.txt", "full", 7,
     X=load_full(os.path.join(DATA, "random16_50pts.distmat.txt")))
for p in (2, 3):
    case(f"projective_plane_z{p}", "data/tda/projective_plane.csv", "full", 2, coeff=p,
         X=load_full(os.path.join(DATA, "projective_plane.csv")))

# Small random cases (fixed seeds): point clouds, ties, duplicates, cosine, thresholds, Z/p.
rng = np.random.default_rng(20240611)


def save_input(k, arr):
    path = f"crates/basin-topo/tests/reference/rips/random_{k}.input"
    np.savetxt(os.path.join(HERE, f"random_{k}.input"), arr, fmt="%.17g")
    return path


k = 0
for n, dim_pts, maxdim, thresh, coeff in [(30, 2, 2, None, 2), (40, 3, 2, None, 2),
                                          (35, 3, 2, 0.6, 3), (25, 4, 3, None, 5),
                                          (45, 2, 1, 0.3, 2)]:
    X = rng.random((n, dim_pts))
    case(f"random_{k}", save_input(k, X), "points", maxdim, thresh=thresh, coeff=coeff,
         dm=False, X=X)
    k += 1
# Cosine metric.
X = rng.normal(size=(30, 3))
case(f"random_{k}", save_input(k, X), "points", 2, metric="cosine", dm=False, X=X)
k += 1
# Distance matrices with many ties (values on a 1/8 grid, exact in f32) and duplicates (zeros).
for n, maxdim, coeff in [(20, 2, 2), (18, 3, 3), (24, 2, 2)]:
    A = np.round(rng.random((n, n)) * 16) / 8
    D = np.triu(A, 1)
    D = D + D.T
    if k % 2 == 0:
        D[0, 1] = D[1, 0] = 0.0  # a duplicate point
    case(f"random_{k}", save_input(k, D), "full", maxdim, coeff=coeff, X=D)
    k += 1

with open(os.path.join(HERE, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
