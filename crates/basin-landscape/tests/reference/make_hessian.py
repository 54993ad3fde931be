"""Reference Hessian of a tiny ReLU MLP for basin-landscape's tests/hessian.rs.

The net is basin's `mlp` 4-5-3 (fc0: 4→5, ReLU, fc1: 5→3), its parameters
flattened in basin's order (tensors sorted by name: fc0.bias, fc0.weight,
fc1.bias, fc1.weight; each row-major). The loss is the mean cross-entropy
over the rows. JAX differentiates it exactly (float64); weights and data
are drawn until every pre-activation is at least 0.05 away from the ReLU
kink, so central differences of gradients with h = 1e-3 never cross one.

    venv/bin/pip install jax numpy
    venv/bin/python make_hessian.py      # writes hessian_mlp.json, hessian_mlp_kink.json

hessian_mlp_kink.json is the same net with fc0.bias[0] moved so that row 0's
first pre-activation is 2e-5: central differences with h = 1e-3 cross that
kink, and JAX's Hessian (ReLU'' = 0) is what basin must still reproduce.

Made with jax 0.10.2 and numpy 2.4.6 (also recorded in the JSON).
"""
import json

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

n_in, n_hidden, n_out, n_rows = 4, 5, 3, 24
sizes = [("fc0.bias", (n_hidden,)), ("fc0.weight", (n_hidden, n_in)), ("fc1.bias", (n_out,)), ("fc1.weight", (n_out, n_hidden))]
n_params = sum(int(np.prod(s)) for _, s in sizes)


def unflatten(theta):
    out, k = {}, 0
    for name, shape in sizes:
        m = int(np.prod(shape))
        out[name] = theta[k : k + m].reshape(shape)
        k += m
    return out


def preact(theta, x):
    p = unflatten(theta)
    return x @ p["fc0.weight"].T + p["fc0.bias"]


def loss(theta, x, y):
    p = unflatten(theta)
    h = jax.nn.relu(preact(theta, x))
    logits = h @ p["fc1.weight"].T + p["fc1.bias"]
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])


for seed in range(1000):
    rng = np.random.default_rng(seed)
    theta = rng.normal(scale=0.6, size=n_params).astype(np.float32).astype(np.float64)
    x = rng.normal(size=(n_rows, n_in)).astype(np.float32).astype(np.float64)
    y = rng.integers(0, n_out, size=n_rows)
    if np.abs(np.asarray(preact(theta, x))).min() > 0.05:
        break
else:
    raise SystemExit("no seed keeps the pre-activations away from 0")



def write(theta, path):
    H = np.asarray(jax.hessian(loss)(theta, x, y))
    g = np.asarray(jax.grad(loss)(theta, x, y))
    v = np.random.default_rng(7).normal(size=n_params)
    evals = np.linalg.eigvalsh(H)[::-1]
    blocks = {"fc0": list(range(0, 25)), "fc1": list(range(25, 43))}
    json.dump(
        {
            "tool": f"jax {jax.__version__}, numpy {np.__version__}",
            "seed": seed,
            "theta": theta.tolist(),
            "x": x.tolist(),
            "y": y.tolist(),
            "loss": float(loss(theta, x, y)),
            "gradient": g.tolist(),
            "hessian": H.tolist(),
            "v": v.tolist(),
            "hv": (H @ v).tolist(),
            "eigenvalues": evals.tolist(),
            "trace": float(np.trace(H)),
            "block_top_eigenvalue": {b: float(np.linalg.eigvalsh(H[np.ix_(i, i)])[-1]) for b, i in blocks.items()},
            "block_trace": {b: float(np.trace(H[np.ix_(i, i)])) for b, i in blocks.items()},
        },
        open(path, "w"),
    )
    print("seed", seed, "top eigenvalues", evals[:3], "min", evals[-1], "trace", np.trace(H))


write(theta, "hessian_mlp.json")
kink = theta.copy()
z00 = float(np.asarray(preact(theta, x))[0, 0])
kink[0] = np.float32(theta[0] - z00 + 2e-5)  # fc0.bias[0]
print("kink pre-activation", float(np.asarray(preact(kink, x))[0, 0]))
write(kink, "hessian_mlp_kink.json")
