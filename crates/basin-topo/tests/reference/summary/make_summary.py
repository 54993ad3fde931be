"""Reference summaries for basin-topo's summary module.

Reference tools: gudhi==3.13.0, gudhi.representations (Entropy scalar mode,
BettiCurve with predefined_grid, Landscape, PersistenceImage), with
scikit-learn (needed by gudhi.representations) and numpy; persim==0.4.1
(PersistenceImager: pixel-integrated images).
Run: python make_summary.py  (writes summary_reference.json next to it)

gudhi's Landscape returns Bubenik's landscape values times sqrt(2); the test
divides by sqrt(2). Infinite deaths are written as null; the diagram passed
to Entropy/Landscape/PersistenceImage is the finite part (basin skips
essential bars there), to BettiCurve the whole diagram.
"""
import json
import os

import gudhi
import numpy as np
from gudhi.representations import BettiCurve, Entropy, Landscape, PersistenceImage
from importlib.metadata import version
from persim import PersistenceImager

assert gudhi.__version__ == "3.13.0", gudhi.__version__
assert version("persim") == "0.4.1", version("persim")

rng = np.random.default_rng(11)


def encode(dgm):
    return [[float(b), None if np.isinf(d) else float(d)] for b, d in dgm]


cases = []
for name, n, essential in [("random_25", 25, 2), ("random_7", 7, 0), ("single", 1, 1)]:
    b = rng.uniform(0, 2, size=n)
    d = b + rng.exponential(0.5, size=n)
    dgm = np.round(np.c_[b, d], 6)
    if name == "random_7":
        dgm[3] = dgm[2]  # a repeated bar
        dgm[5, 1] = dgm[5, 0]  # a bar of length 0 (contributes 0 to entropy)
    full = np.vstack([dgm, np.c_[rng.uniform(0, 1, size=essential), np.full(essential, np.inf)]])
    finite = dgm[dgm[:, 1] > dgm[:, 0]] if name == "random_7" else dgm
    lo, hi = float(full[:, 0].min()) - 0.1, float(dgm[:, 1].max()) + 0.1
    grid = np.linspace(lo, hi, 37)
    grid_with_events = np.unique(np.r_[grid, dgm[:, 0], dgm[:, 1]])  # hits births and deaths exactly
    landscape = Landscape(num_landscapes=4, resolution=37, sample_range=[lo, hi])
    pi_range = [0.0, 2.0, 0.0, 1.5]
    images = {}
    for wname, weight in [("constant", lambda x: 1.0), ("linear", lambda x: x[1]), ("power2", lambda x: x[1] ** 2)]:
        pi = PersistenceImage(bandwidth=0.25, weight=weight, resolution=[9, 7], im_range=pi_range)
        images[wname] = pi.fit_transform([dgm])[0].tolist()
    # persim: ranges are whole multiples of the pixel size, so its grid edges
    # are linspace(range, resolution + 1); sigma is a covariance (σ²).
    persim_images = {}
    for wname, n_exp in [("constant", 0.0), ("linear", 1.0)]:
        imager = PersistenceImager(birth_range=(0.0, 2.0), pers_range=(0.0, 1.5), pixel_size=0.25,
                                   weight_params={"n": n_exp}, kernel_params={"sigma": [[0.3**2, 0.0], [0.0, 0.3**2]]})
        assert imager.resolution == (8, 6), imager.resolution
        persim_images[wname] = imager.transform(dgm, skew=True).tolist()
    cases.append({
        "name": name,
        "diagram": encode(full),
        "total_persistence": {str(p): float(np.sum((dgm[:, 1] - dgm[:, 0]) ** p)) for p in (1.0, 2.0, 0.5)},
        "entropy": float(Entropy(mode="scalar").fit_transform([finite])[0, 0]),
        "betti_grid": grid_with_events.tolist(),
        "betti": BettiCurve(predefined_grid=grid_with_events).fit_transform([full])[0].tolist(),
        "landscape_grid": landscape.fit([dgm]).grid_.tolist(),
        "landscape_gudhi": landscape.transform([dgm])[0].tolist(),
        "image_range": pi_range,
        "image_resolution": [9, 7],
        "image_bandwidth": 0.25,
        "image": images,
        "persim_range": [0.0, 2.0, 0.0, 1.5],
        "persim_resolution": [8, 6],
        "persim_sigma": 0.3,
        "persim_image": persim_images,  # indexed [birth][persistence]
    })

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "summary_reference.json"), "w") as fh:
    json.dump({"gudhi": gudhi.__version__, "cases": cases}, fh)
for c in cases:
    print(c["name"], c["entropy"], sum(c["betti"]), max(c["landscape_gudhi"]), sum(c["image"]["linear"]))
