#!/usr/bin/env python3
"""Reference figures for basin-phate, produced by the published PHATE package.

Reference tool (exact versions, pinned):
    phate==2.0.0  graphtools==2.1.0  (numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1;
    numba NOT installed, so graphtools takes its pure-numpy float64 kernel path)

Run:
    python3 -m venv venv && venv/bin/pip install phate==2.0.0 graphtools==2.1.0
    venv/bin/python crates/basin-phate/tests/reference/make_reference.py

Writes one folder per case under tests/reference/<case>/:
    meta.json          parameters, chosen t, entropy curve, shapes, DEMaP figures
    ../inputs/<input>.bin   input rows (row-major little-endian f64), shared by cases
    kernel.bin         symmetrised kernel K as (row, col, value) triplets, f64
    diff_op.bin        diffusion operator P as triplets (two cases, to keep the data small)
    pot_dist.bin       potential distances (dense n x n, exact path only)
    emb_classic.bin    classic MDS embedding (n x 2)
    emb_sgd.bin        metric MDS embedding, SGD solver (phate default)
    emb_smacof.bin     metric MDS embedding, SMACOF solver
    landmark_op.bin, clusters.bin, transitions.bin   (landmark case only)
    dla_transform/: y.bin (30 new rows), emb.bin (classic fit, t=12), emb_new.bin
                    (phate's transform(y): out-of-sample placement)

DEMaP here = Spearman correlation between the geodesic distances on a symmetric
kNN graph (k = 10, edges weighted by euclidean distance) of the input and the
euclidean distances of the embedding (upper triangles); basin computes it the
same way (src/demap.rs).
"""
import gzip
import json
import os
import sys
import warnings

import graphtools
import numpy as np
import phate
import scipy
import scipy.sparse as sp
import sklearn
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr
from sklearn.neighbors import kneighbors_graph

assert phate.__version__ == "2.0.0", phate.__version__
assert graphtools.__version__ == "2.1.0", graphtools.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = "/work/shared/data/images/digits.csv.gz"
SEED = 42


def demap(x, emb, k=10):
    g = kneighbors_graph(x, k, mode="distance")
    g = g.maximum(g.T)
    geo = shortest_path(g, method="D", directed=False)
    iu = np.triu_indices(x.shape[0], 1)
    return float(spearmanr(geo[iu], pdist(emb))[0])


def write(case, name, arr):
    arr = np.ascontiguousarray(arr, dtype="<f8")
    arr.tofile(os.path.join(HERE, case, name + ".bin"))


def triplets(m):
    m = sp.coo_matrix(m)
    return np.stack([m.row.astype(float), m.col.astype(float), m.data], axis=1)


def run_case(case, input_name, x, keep_diff_op=False, **kw):
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    meta = {"params": {k: v for k, v in kw.items()}, "input": input_name,
            "n": int(x.shape[0]), "d": int(x.shape[1])}
    embs = {}
    for name, mds, solver in [("classic", "classic", "sgd"), ("sgd", "metric", "sgd"), ("smacof", "metric", "smacof")]:
        op = phate.PHATE(mds=mds, mds_solver=solver, random_state=SEED, verbose=0, **kw)
        emb = op.fit_transform(x)
        embs[name] = emb
        write(case, "emb_" + name, emb)
        meta["demap_" + name] = demap(x, emb)
        if name == "classic":
            g = op.graph
            landmark = isinstance(g, graphtools.graphs.LandmarkGraph)
            write(case, "kernel", triplets(g.kernel))
            if keep_diff_op:
                write(case, "diff_op", triplets(g.diff_op))
            meta["kernel_nnz"] = int(sp.csr_matrix(g.kernel).nnz)
            t_max = 100
            _, h = op._von_neumann_entropy(t_max=t_max)
            meta["entropy"] = [float(v) for v in h]
            meta["t"] = int(op.optimal_t) if op.optimal_t is not None else int(kw["t"])
            pot = op._calculate_potential()
            if landmark:
                write(case, "landmark_op", op.diff_op)
                write(case, "clusters", np.asarray(g.clusters, dtype=float))
                write(case, "transitions", triplets(g.transitions))
                meta["n_landmark_actual"] = int(op.diff_op.shape[0])
            # potential distances exactly as phate.mds.embed_MDS builds them
            dist = kw.get("mds_dist", "euclidean")
            pd_ = squareform(pdist(pot, dist))
            if not landmark:
                write(case, "pot_dist", pd_)
            meta["pot_dist_max"] = float(pd_.max())
    with open(os.path.join(HERE, case, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(case, "t =", meta["t"], {k: round(v, 4) for k, v in meta.items() if k.startswith("demap")})


def main():
    dla, _ = phate.tree.gen_dla(n_dim=100, n_branch=10, branch_length=20, seed=37)
    dla_big, _ = phate.tree.gen_dla(n_dim=100, n_branch=20, branch_length=20, seed=37)
    digits = np.loadtxt(gzip.open(DIGITS), delimiter=",")[:200, :64]
    os.makedirs(os.path.join(HERE, "inputs"), exist_ok=True)
    for name, x in [("dla200", dla), ("dla400", dla_big), ("digits200", digits)]:
        write("inputs", name, x)
    run_case("dla_euclidean_auto", "dla200", dla, keep_diff_op=True, knn=5, decay=40, t="auto")
    run_case("dla_cosine_t12", "dla200", dla, knn=5, decay=40, t=12, knn_dist="cosine")
    run_case("dla_gamma0_t15", "dla200", dla, knn=5, decay=40, t=15, gamma=0)
    run_case("dla_gamma_half_t15", "dla200", dla, knn=5, decay=40, t=15, gamma=0.5)
    run_case("dla_knnmax8", "dla200", dla, knn=5, decay=40, t="auto", knn_max=8)
    run_case("digits_euclidean_auto", "digits200", digits, knn=5, decay=40, t="auto")
    run_case("digits_cosine_auto", "digits200", digits, keep_diff_op=True, knn=5, decay=40, t="auto",
             knn_dist="cosine", mds_dist="cosine")
    run_case("dla_landmark100", "dla400", dla_big, knn=5, decay=40, t="auto", n_landmark=100)
    transform_case(dla)


def transform_case(x):
    """Out-of-sample placement: fit on dla200 (classic MDS, t=12), transform
    30 perturbed copies of its rows (graphtools extend_to_data + interpolate)."""
    case = "dla_transform"
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    rng = np.random.RandomState(1)
    y = x[::6][:30] + rng.normal(0, 2.0, size=(30, x.shape[1]))
    op = phate.PHATE(mds="classic", t=12, random_state=SEED, verbose=0)
    emb = op.fit_transform(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = op.transform(y)
    write(case, "y", y)
    write(case, "emb", emb)
    write(case, "emb_new", new)
    with open(os.path.join(HERE, case, "meta.json"), "w") as f:
        json.dump({"input": "dla200", "n": int(x.shape[0]), "d": int(x.shape[1]), "n_new": 30, "t": 12}, f, indent=1)
    print(case, "done")


if __name__ == "__main__":
    print("numpy", np.__version__, "scipy", scipy.__version__, "sklearn", sklearn.__version__, file=sys.stderr)
    main()
