#!/usr/bin/env python3
"""Per-training-step time: basin (candle) vs PyTorch, side by side in one run.

Reference tool: torch==2.15.0 (PyPI) on the CPU; on a GPU machine, whatever
torch is installed there (its version is printed). Same nets, batch 128, SGD
with momentum 0.9 and weight decay 5e-4, cross-entropy, the same thread count
(default 2) for both: torch.set_num_threads(T) and RAYON_NUM_THREADS=T for
basin (candle's CPU kernels use rayon). basin and PyTorch alternate
`--repeat` times per net; the medians are printed.

Nets: digits MLP 64-64-10 (one hidden layer of 64), MNIST MLP
784-256-10, MNIST CNN 16-32-32 channels (3x3 convs, stride 2, padding 1,
then a linear classifier), and the CIFAR-10 study's ResNet-lite
(3x32x32 input; stages of 32/64/128 channels, each a stride-2 conv,
BatchNorm, ReLU and one residual block with BatchNorm; linear classifier).

Usage (from the repository root):
    python benches/train_vs_pytorch.py [--threads 2] [--skip-build] [--jumps]
    python benches/train_vs_pytorch.py --device cuda --exe .gpu/step_time --jumps
With --device cuda, basin's step_time must be a `--features cuda` build;
when torch cannot be imported (or sees no GPU) only basin is timed.
"""
import argparse
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = {"digits-mlp": 500, "mnist-mlp": 300, "mnist-cnn": 40, "cifar-resnet": 10}

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    TORCH_ERROR = None
except Exception as e:  # noqa: BLE001 - any import failure means "no torch here"
    torch = None
    TORCH_ERROR = f"{type(e).__name__}: {e}"


def torch_net(name):
    if name == "digits-mlp":
        return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)), 64
    if name == "mnist-mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)), 784
    if name == "mnist-cnn":
        return nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
        ), 784
    if name == "cifar-resnet":
        layers, c_in = [nn.Unflatten(1, (3, 32, 32))], 3
        for c in (32, 64, 128):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU(), Residual(c)]
            c_in = c
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 4 * 4, 10)), 3 * 32 * 32
    raise ValueError(name)


if torch is not None:
    class Residual(nn.Module):
        """basin's residual block: relu(x + bn_b(conv_b(relu(bn_a(conv_a(x))))))."""

        def __init__(self, c):
            super().__init__()
            self.conv_a, self.bn_a = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
            self.conv_b, self.bn_b = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

        def forward(self, x):
            return F.relu(x + self.bn_b(self.conv_b(F.relu(self.bn_a(self.conv_a(x))))))


def torch_step_us(name, steps, device):
    model, d = torch_net(name)
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(1024, d, generator=g) * 2 - 1).to(device)
    y = torch.randint(0, 10, (1024,), generator=g).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step(i):
        s = (i * 128) % 1024
        opt.zero_grad()
        F.cross_entropy(model(x[s:s + 128]), y[s:s + 128]).backward()
        opt.step()

    for i in range(max(3, steps // 10)):
        step(i)
    sync()
    t, c = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(i)
    sync()
    return (time.perf_counter() - t) / steps * 1e6, (time.process_time() - c) / steps * 1e6


def basin(exe, args, threads, device):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), BASIN_DEVICE=device)
    out = subprocess.run([exe, *args], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--jumps", action="store_true", help="also time 16 and 32 batched vs sequential jumps (40 epochs)")
    ap.add_argument("--repeat", type=int, default=3, help="alternate basin/PyTorch runs, report medians")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--exe", help="basin's step_time binary (default: $CARGO_TARGET_DIR/release/examples/step_time)")
    ap.add_argument("--nets", default=",".join(STEPS), help="comma-separated subset of " + ",".join(STEPS))
    a = ap.parse_args()
    if not a.skip_build and not a.exe:
        features = ["--features", "cuda"] if a.device == "cuda" else []
        subprocess.run(["cargo", "build", "--release", "-p", "basin-train", *features, "--example", "step_time"],
                       cwd=ROOT, check=True)
    exe = a.exe or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                "release", "examples", "step_time")
    have_torch = torch is not None
    if have_torch and a.device == "cuda" and not torch.cuda.is_available():
        have_torch, why = False, f"torch {torch.__version__} sees no CUDA device"
    else:
        why = f"torch is not importable ({TORCH_ERROR})"
    if have_torch:
        torch.set_num_threads(a.threads)
        card = f", {torch.cuda.get_device_name(0)}" if a.device == "cuda" else ""
        print(f"torch {torch.__version__} on {a.device}{card}, {a.threads} threads, batch 128, SGD momentum 0.9 wd 5e-4")
    else:
        print(f"{why}: timing basin alone on {a.device}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("wall = wall-clock per step; cpu = process CPU time per step (all threads; robust to other")
    print("processes competing for the cores, and the fairer figure on a loaded machine with 1 thread)")
    print(f"{'net':<12} {'basin wall':>11} {'torch wall':>11} {'ratio':>6} {'basin cpu':>10} {'torch cpu':>10} {'ratio':>6}   (us/step)")
    med = lambda v: sorted(v)[len(v) // 2]
    nan = float("nan")
    for name in a.nets.split(","):
        steps = STEPS[name]
        bw, bc, tw, tc = [], [], [], []
        for _ in range(a.repeat):
            r = basin(exe, [name, str(steps)], a.threads, a.device)
            bw.append(r["us_per_step"])
            bc.append(r["cpu_us_per_step"])
            w, c = torch_step_us(name, steps, a.device) if have_torch else (nan, nan)
            tw.append(w)
            tc.append(c)
        bw, bc, tw, tc = med(bw), med(bc), med(tw), med(tc)
        print(f"{name:<12} {bw:>11.1f} {tw:>11.1f} {bw / tw:>6.2f} {bc:>10.1f} {tc:>10.1f} {bc / tc:>6.2f}")
    if a.jumps:
        for k in (16, 32):
            r = basin(exe, [f"jumps{k}", "40"], a.threads, a.device)
            print(f"{k} jumps x 40 epochs of the digits MLP (1024 rows, with per-epoch evaluation): "
                  f"sequential {r['sequential_s']:.3f} s, batched {r['batched_s']:.3f} s, speed-up {r['speedup']:.2f}x wall; "
                  f"CPU {r['sequential_cpu_s']:.2f} s vs {r['batched_cpu_s']:.2f} s, {r['cpu_speedup']:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
