"""Reference PCA of an optimizer path for basin-landscape's tests/pca.rs.

Li et al. 2018 §7: PCA of the matrix [θ_i − θ_final] with scikit-learn's
PCA (columns centred), coordinates = dot products of θ_i − θ_final with the
unit components (their `project_trajectory`), off-plane distance = norm of
the residual. Writes pca_path.json.

    python3 -m venv venv && venv/bin/pip install numpy scikit-learn
    venv/bin/python make_pca.py

Made with numpy 2.4.6 and scikit-learn 1.9.1 (also recorded in the JSON).
"""
import json

import numpy as np
import sklearn
from sklearn.decomposition import PCA

rng = np.random.default_rng(20180101)
n, p = 9, 14
t = np.linspace(0.0, 1.0, n)
u, v, w = rng.normal(size=(3, p))
final = rng.normal(size=p)
# A curved path that ends at θ_final, mostly in a plane, with a little noise.
path = final + np.outer(1.0 - t, u) * 2.0 + np.outer(np.sin(np.pi * t), v) * 0.7 + np.outer(t * (1 - t), w) * 0.05
path += rng.normal(scale=0.01, size=(n, p))
path[-1] = final
path = path.astype(np.float32)
final = path[-1]

diff = path.astype(np.float64) - final.astype(np.float64)
pca = PCA(n_components=2, svd_solver="full").fit(diff)
comp = pca.components_.copy()
# basin's sign convention: each component's entry of largest magnitude is positive.
for k in range(2):
    if comp[k][np.argmax(np.abs(comp[k]))] < 0:
        comp[k] = -comp[k]
coords = diff @ comp.T
off = np.linalg.norm(diff - coords @ comp, axis=1)

json.dump(
    {
        "tool": f"numpy {np.__version__}, scikit-learn {sklearn.__version__}",
        "path": path.tolist(),
        "origin": final.tolist(),
        "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
        "components": comp.tolist(),
        "coords": coords.tolist(),
        "off_plane": off.tolist(),
    },
    open("pca_path.json", "w"),
    indent=1,
)
print("explained", pca.explained_variance_ratio_, "off-plane max", off.max())
