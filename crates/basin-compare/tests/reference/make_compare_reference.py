"""Reference values for basin-compare's tests (tests/reference.rs).

Run: python3 make_compare_reference.py  (writes compare_reference.json beside it)
Made with Python 3, numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1; the versions
actually used are also written into the JSON.

* correlations: scipy.stats.pearsonr / spearmanr on fixed vectors (ties, a
  negative relation, n = 5, n = 200).
* group_kfold: test folds of StratifiedGroupKFold(shuffle=False) on fixed
  grouped labels (basin's split is the same algorithm; shuffled, it cannot
  match scikit-learn's random draws, so the unshuffled order is compared).
* classifiers: scikit-learn's digits (600 rows drawn with a fixed seed, PCA to
  10 components, rounded to 6 decimals so that Rust reads exactly the data used
  here) and three fixed train/test index splits.  Features are standardised
  with a StandardScaler fitted on the training rows only, as basin does inside
  its folds.  For each learner the test predictions and accuracy are stored.
"""

import json
import os
import platform

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

HERE = os.path.dirname(os.path.abspath(__file__))


def correlation_cases():
    rng = np.random.default_rng(7)
    neg_x = np.round(np.linspace(0.0, 3.0, 30), 6)
    neg_y = np.round(-2.0 * neg_x + rng.normal(0.0, 1.5, 30), 6)
    big_x = np.round(rng.normal(0.0, 1.0, 200), 6)
    big_y = np.round(0.3 * big_x + rng.normal(0.0, 1.0, 200), 6)
    cases = {
        "ties": ([1, 2, 2, 3, 4, 4, 4, 5, 6, 7], [2, 1, 3, 3, 5, 4, 6, 7, 7, 9]),
        "negative": (neg_x.tolist(), neg_y.tolist()),
        "n5": ([1.0, 2.5, 3.1, 4.7, 5.2], [2.0, 2.9, 3.3, 5.1, 4.8]),
        "n200": (big_x.tolist(), big_y.tolist()),
    }
    out = []
    for name, (x, y) in cases.items():
        x = [float(v) for v in x]
        y = [float(v) for v in y]
        p = stats.pearsonr(x, y)
        s = stats.spearmanr(x, y)
        out.append(
            {
                "name": name,
                "x": x,
                "y": y,
                "pearson": float(p.statistic),
                "pearson_p": float(p.pvalue),
                "spearman": float(s.statistic),
                "spearman_p": float(s.pvalue),
            }
        )
    return out


def classifier_cases():
    digits = load_digits()
    rng = np.random.default_rng(2024)
    rows = np.sort(rng.choice(digits.data.shape[0], size=600, replace=False))
    x_raw = digits.data[rows]
    y = digits.target[rows].astype(int)
    x = np.round(PCA(n_components=10, random_state=0).fit_transform(x_raw), 6)

    def learners():
        return {
            "logistic": LogisticRegression(C=1.0, max_iter=10000, tol=1e-8),
            "gaussian_nb": GaussianNB(),
            "decision_tree": DecisionTreeClassifier(random_state=0),
            "knn5": KNeighborsClassifier(n_neighbors=5),
            "svm_rbf": SVC(C=1.0, kernel="rbf", gamma="scale"),
            "svm_linear": SVC(C=1.0, kernel="linear"),
            "random_forest": RandomForestClassifier(n_estimators=100, random_state=0),
            "majority": DummyClassifier(strategy="most_frequent"),
        }

    splits = []
    for seed in (0, 1, 2):
        perm = np.random.default_rng(seed).permutation(len(y))
        train, test = np.sort(perm[:400]), np.sort(perm[400:])
        scaler = StandardScaler().fit(x[train])
        xtr, xte = scaler.transform(x[train]), scaler.transform(x[test])
        results = {}
        # One feature: no ties between features, so the grown tree is unique.
        pred = DecisionTreeClassifier(random_state=0).fit(xtr[:, :1], y[train]).predict(xte[:, :1])
        results["decision_tree_first_feature"] = {
            "predictions": [int(v) for v in pred],
            "accuracy": float(np.mean(pred == y[test])),
        }
        for name, model in learners().items():
            pred = model.fit(xtr, y[train]).predict(xte)
            results[name] = {
                "predictions": [int(v) for v in pred],
                "accuracy": float(np.mean(pred == y[test])),
            }
        splits.append({"seed": seed, "train": train.tolist(), "test": test.tolist(), "results": results})
    return {"x": x.tolist(), "y": y.tolist(), "splits": splits}


def group_kfold_cases():
    """StratifiedGroupKFold(shuffle=False) test folds on fixed grouped labels:
    groups of 1 to 5 rows (as nets seen under several seeds), most of one
    class, a few mixed; sparse, unsorted group ids."""
    rng = np.random.default_rng(11)
    cases = []
    for case, (n_groups, n_classes, mixed) in enumerate([(30, 3, 0), (40, 3, 6), (25, 2, 3), (60, 4, 10)]):
        labels, groups = [], []
        ids = rng.permutation(n_groups) * 3 + 5
        for g in range(n_groups):
            size = int(rng.integers(1, 6))
            base = int(rng.integers(0, n_classes))
            for _ in range(size):
                label = int(rng.integers(0, n_classes)) if g < mixed else base
                labels.append(label)
                groups.append(int(ids[g]))
        for folds in (3, 5):
            split = StratifiedGroupKFold(n_splits=folds, shuffle=False)
            tests = [sorted(int(i) for i in test) for _, test in split.split(np.zeros(len(labels)), labels, groups)]
            cases.append({"case": case, "folds": folds, "labels": labels, "groups": groups, "test_folds": tests})
    return cases


def main():
    ref = {
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "correlations": correlation_cases(),
        "classifiers": classifier_cases(),
        "group_kfold": group_kfold_cases(),
    }
    path = os.path.join(HERE, "compare_reference.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ref, f, indent=1)
    os.replace(tmp, path)
    for s in ref["classifiers"]["splits"]:
        print(s["seed"], {k: v["accuracy"] for k, v in s["results"].items()})


if __name__ == "__main__":
    main()
