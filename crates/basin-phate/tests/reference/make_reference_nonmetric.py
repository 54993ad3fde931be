#!/usr/bin/env python3
"""Non-metric MDS reference figures (adds to the dla_euclidean_auto case).

Reference tool (exact versions, pinned as in make_reference.py):
    phate==2.0.0  graphtools==2.1.0  (numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1)

Run (after make_reference.py, whose pot_dist.bin and emb_sgd.bin it reads):
    venv/bin/python crates/basin-phate/tests/reference/make_reference_nonmetric.py

Writes into tests/reference/dla_euclidean_auto/:
    nonmetric_from_sgd.bin  scikit-learn's non-metric SMACOF exactly as
                            phate.mds.smacof calls it (max_iter 3000, eps 1e-6,
                            n_init 1) on the committed potential distances,
                            started from the committed emb_sgd.bin
    emb_nonmetric.bin       phate's full embedding with mds='nonmetric'
    nonmetric.json          DEMaP of that embedding (same definition as make_reference.py)
"""
import json
import os

import numpy as np
import phate
import sklearn
from sklearn import manifold

from make_reference import HERE, SEED, demap

assert phate.__version__ == "2.0.0", phate.__version__
assert sklearn.__version__ == "1.9.1", sklearn.__version__

CASE = os.path.join(HERE, "dla_euclidean_auto")


def main():
    meta = json.load(open(os.path.join(CASE, "meta.json")))
    n = meta["n"]
    x = np.fromfile(os.path.join(HERE, "inputs", meta["input"] + ".bin")).reshape(n, meta["d"])
    pd_ = np.fromfile(os.path.join(CASE, "pot_dist.bin")).reshape(n, n)
    y0 = np.fromfile(os.path.join(CASE, "emb_sgd.bin")).reshape(n, 2)
    y, _ = manifold.smacof(pd_, n_components=2, metric=False, max_iter=3000, eps=1e-6,
                           random_state=SEED, n_init=1, init=y0)
    np.ascontiguousarray(y, dtype="<f8").tofile(os.path.join(CASE, "nonmetric_from_sgd.bin"))
    op = phate.PHATE(mds="nonmetric", random_state=SEED, verbose=0, knn=5, decay=40, t="auto")
    emb = op.fit_transform(x)
    np.ascontiguousarray(emb, dtype="<f8").tofile(os.path.join(CASE, "emb_nonmetric.bin"))
    out = {"demap_nonmetric": demap(x, emb), "t": int(op.optimal_t)}
    with open(os.path.join(CASE, "nonmetric.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(out)


if __name__ == "__main__":
    main()
