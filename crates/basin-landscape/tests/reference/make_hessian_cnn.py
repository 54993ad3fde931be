"""Reference Hessians of two tiny CNNs and a BatchNorm MLP for basin-landscape's
tests/double_backward.rs.

Nets, in basin's architecture and parameter naming (basin_train::Layers::Cnn,
3x3 convolutions with padding 1, NCHW, PyTorch layouts):

* `cnn_bn_res`: input 1x5x5 (odd, so the strided output is ceil(5/2) = 3),
  one strided stage of 2 channels with BatchNorm, ReLU, then a residual
  basic block relu(h + bn_b(conv_b(relu(bn_a(conv_a(h)))))), classifier
  `fc` on the flattened 2x3x3 map, 3 classes. BatchNorm in evaluation mode:
  (x - running_mean) / sqrt(running_var + 1e-5) * weight + bias, with
  random running statistics and affine parameters.
* `cnn_pool`: input 1x7x7, two stages of 2 and 3 channels, stride-1
  convolutions each followed by ReLU and a 2x2 average pool that drops the
  odd last row/column (7 -> 3 -> 1), classifier `fc`, 3 classes.
* `mlp_bn`: 4 -> 5 -> 3 MLP with BatchNorm1d (`bn0`, evaluation mode) between
  `fc0` and its ReLU.

The loss is the mean cross-entropy over the rows; JAX differentiates it
exactly in float64 (ReLU'' = 0). Weights and data are float32 values (drawn
in float64, rounded), so basin's float32 nets hold exactly the same numbers.
The flattened parameter vector is basin's order: tensors sorted by name
(byte order), each row-major.

    python3 -m venv venv && venv/bin/pip install jax==0.10.2 numpy==2.4.6
    venv/bin/python make_hessian_cnn.py      # writes hessian_cnn.json

Made with jax 0.10.2 and numpy 2.4.6 (also recorded in the JSON).
"""
import json

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

N_ROWS, N_CLASSES = 16, 3


def conv(x, w, b, stride):
    y = jax.lax.conv_general_dilated(x, w, (stride, stride), [(1, 1), (1, 1)], dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b[None, :, None, None]


def bn(x, p, buffers, name):
    mean = buffers[f"{name}.running_mean"][None, :, None, None]
    var = buffers[f"{name}.running_var"][None, :, None, None]
    return (x - mean) / jnp.sqrt(var + 1e-5) * p[f"{name}.weight"][None, :, None, None] + p[f"{name}.bias"][None, :, None, None]


def bn1d(x, p, buffers, name):
    mean, var = buffers[f"{name}.running_mean"], buffers[f"{name}.running_var"]
    return (x - mean) / jnp.sqrt(var + 1e-5) * p[f"{name}.weight"] + p[f"{name}.bias"]


def forward_mlp_bn(p, buffers, x):
    h = jax.nn.relu(bn1d(x @ p["fc0.weight"].T + p["fc0.bias"], p, buffers, "bn0"))
    return h @ p["fc1.weight"].T + p["fc1.bias"]


def pool(x):
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, :, : 2 * h2, : 2 * w2]
    return x.reshape(n, c, h2, 2, w2, 2).mean(axis=(3, 5))


def forward_bn_res(p, buffers, x):
    h = x.reshape(-1, 1, 5, 5)
    h = jax.nn.relu(bn(conv(h, p["conv0.weight"], p["conv0.bias"], 2), p, buffers, "bn0"))
    r = jax.nn.relu(bn(conv(h, p["res0.conv_a.weight"], p["res0.conv_a.bias"], 1), p, buffers, "res0.bn_a"))
    r = bn(conv(r, p["res0.conv_b.weight"], p["res0.conv_b.bias"], 1), p, buffers, "res0.bn_b")
    h = jax.nn.relu(h + r)
    return h.reshape(h.shape[0], -1) @ p["fc.weight"].T + p["fc.bias"]


def forward_pool(p, buffers, x):
    h = x.reshape(-1, 1, 7, 7)
    h = pool(jax.nn.relu(conv(h, p["conv0.weight"], p["conv0.bias"], 1)))
    h = pool(jax.nn.relu(conv(h, p["conv1.weight"], p["conv1.bias"], 1)))
    return h.reshape(h.shape[0], -1) @ p["fc.weight"].T + p["fc.bias"]


NETS = {
    "cnn_bn_res": {
        "forward": forward_bn_res,
        "input": 25,
        "params": {
            "conv0.weight": (2, 1, 3, 3), "conv0.bias": (2,),
            "bn0.weight": (2,), "bn0.bias": (2,),
            "res0.conv_a.weight": (2, 2, 3, 3), "res0.conv_a.bias": (2,),
            "res0.bn_a.weight": (2,), "res0.bn_a.bias": (2,),
            "res0.conv_b.weight": (2, 2, 3, 3), "res0.conv_b.bias": (2,),
            "res0.bn_b.weight": (2,), "res0.bn_b.bias": (2,),
            "fc.weight": (N_CLASSES, 18), "fc.bias": (N_CLASSES,),
        },
        "buffers": ["bn0", "res0.bn_a", "res0.bn_b"],
    },
    "cnn_pool": {
        "forward": forward_pool,
        "input": 49,
        "params": {
            "conv0.weight": (2, 1, 3, 3), "conv0.bias": (2,),
            "conv1.weight": (3, 2, 3, 3), "conv1.bias": (3,),
            "fc.weight": (N_CLASSES, 3), "fc.bias": (N_CLASSES,),
        },
        "buffers": [],
    },
    "mlp_bn": {
        "forward": forward_mlp_bn,
        "input": 4,
        "params": {
            "fc0.weight": (5, 4), "fc0.bias": (5,),
            "bn0.weight": (5,), "bn0.bias": (5,),
            "fc1.weight": (N_CLASSES, 5), "fc1.bias": (N_CLASSES,),
        },
        "buffers": ["bn0"],
    },
}


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def make(name, spec, seed):
    rng = np.random.default_rng(seed)
    names = sorted(spec["params"])  # basin's flattened order
    shapes = [spec["params"][n] for n in names]
    values = {}
    for n, s in zip(names, shapes):
        if n.startswith("bn") or ".bn_" in n:
            values[n] = f32(1.0 + 0.3 * rng.normal(size=s)) if n.endswith("weight") else f32(0.2 * rng.normal(size=s))
        else:
            values[n] = f32(rng.normal(scale=0.5, size=s))
    buffers = {}
    for b in spec["buffers"]:
        c = spec["params"][f"{b}.weight"][0]
        buffers[f"{b}.running_mean"] = f32(0.3 * rng.normal(size=c))
        buffers[f"{b}.running_var"] = f32(rng.uniform(0.5, 2.0, size=c))
    x = f32(rng.normal(size=(N_ROWS, spec["input"])))
    y = rng.integers(0, N_CLASSES, size=N_ROWS)
    sizes = [int(np.prod(s)) for s in shapes]

    def unflatten(theta):
        out, k = {}, 0
        for n, s, m in zip(names, shapes, sizes):
            out[n] = theta[k : k + m].reshape(s)
            k += m
        return out

    def loss(theta):
        logits = spec["forward"](unflatten(theta), buffers, x)
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(N_ROWS), y])

    theta = np.concatenate([values[n].ravel() for n in names])
    H = np.asarray(jax.hessian(loss)(theta))
    g = np.asarray(jax.grad(loss)(theta))
    vrng = np.random.default_rng(seed + 100)
    v1, v2 = vrng.normal(size=theta.size), vrng.normal(size=theta.size)
    evals = np.linalg.eigvalsh(H)[::-1]
    logits = np.asarray(spec["forward"](unflatten(theta), buffers, x))
    print(name, "parameters", theta.size, "top eigenvalues", evals[:3], "min", evals[-1], "trace", np.trace(H))
    return {
        "tensors": {n: values[n].ravel().tolist() for n in names} | {k: v.tolist() for k, v in buffers.items()},
        "theta": theta.tolist(),
        "x": x.tolist(),
        "y": y.tolist(),
        "logits": logits.tolist(),
        "loss": float(loss(theta)),
        "gradient": g.tolist(),
        "v": [v1.tolist(), v2.tolist()],
        "hv": [(H @ v1).tolist(), (H @ v2).tolist()],
        "eigenvalues": evals.tolist(),
        "trace": float(np.trace(H)),
    }


out = {"tool": f"jax {jax.__version__}, numpy {np.__version__}"}
for seed, (name, spec) in enumerate(NETS.items()):
    out[name] = make(name, spec, seed)
json.dump(out, open("hessian_cnn.json", "w"))
