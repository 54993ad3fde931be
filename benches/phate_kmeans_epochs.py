#!/usr/bin/env python3
"""phate 2.0.0 with graphtools' landmark k-means cut to a few passes: same t and DEMaP?

basin-phate's landmark clustering follows graphtools' MiniBatchKMeans recipe but
stops after 3 passes over the data (scikit-learn's max_iter=3) instead of up to
100 with early stopping. This script runs phate itself both ways, two seeds each,
on the benchmark data, and prints t and DEMaP (same definition as
phate_vs_reference.py), so the effect of the cut is measured on the reference
tool, not on basin.

Reference tool: phate==2.0.0, graphtools==2.1.0 (numpy 2.4.6, scipy 1.17.1,
scikit-learn 1.9.1).

    venv/bin/python benches/phate_kmeans_epochs.py 20000 default "max_iter=3" "plain init"
"""
import os
import sys
import time
import warnings

import graphtools.graphs as gg
import numpy as np
import phate
from sklearn.cluster import MiniBatchKMeans, kmeans_plusplus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phate_vs_reference import demap_sampled  # noqa: E402

warnings.filterwarnings("ignore")


def plain_init(X, k, random_state):
    # k-means++ without scikit-learn's greedy trials (one candidate per centre)
    return kmeans_plusplus(X, k, random_state=random_state, n_local_trials=1)[0]


VARIANTS = {
    "default": {},
    "max_iter=3": {"max_iter": 3},
    "plain init": {"init": plain_init},
}


def main():
    n = int(sys.argv[1])
    x, _ = phate.tree.gen_dla(n_dim=100, n_branch=n // 100, branch_length=100, seed=37)
    for name in sys.argv[2:]:
        kw = VARIANTS[name]

        class Variant(MiniBatchKMeans):
            def __init__(self, n_clusters, **k):
                super().__init__(n_clusters, **k, **kw)

        gg.MiniBatchKMeans = Variant
        for seed in [42, 7]:
            op = phate.PHATE(n_jobs=2, random_state=seed, verbose=0)
            t0 = time.time()
            emb = op.fit_transform(x)
            secs = time.time() - t0
            print(f"n={n} {name} seed={seed}: t={op.optimal_t} DEMaP={demap_sampled(x, emb):.4f} ({secs:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
