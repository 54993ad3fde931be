#!/usr/bin/env python3
"""Reference nets for basin-train's PyTorch import and SGD tests.

Reference tool: torch==2.15.0 (PyPI), safetensors==0.8.0, numpy 2.4.
Run:  python export_pytorch.py   (writes *.safetensors and *.json here)

For each net it writes
  <name>.safetensors      the state_dict (safetensors.torch.save_file)
  <name>_io.safetensors   x (fixed inputs), y (labels), logits (eval mode),
                          and after_sgd.<param> / after_sgd.<buffer>: the state
                          after 3 SGD steps (lr 0.1, momentum 0.9, wd 1e-2) on
                          (x, y) in training mode
  <name>.json             the basin Architecture (serde JSON)
Parameter names follow basin_train::Layers: fc{i}, bn{i}, conv{i},
res{i}.conv_a / bn_a / conv_b / bn_b, fc.
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_num_threads(1)


class Mlp(nn.Module):
    def __init__(self, d_in, hidden, n_classes, batch_norm):
        super().__init__()
        self.n = len(hidden)
        self.batch_norm = batch_norm
        widths = [d_in] + hidden
        for i, h in enumerate(hidden):
            setattr(self, f"fc{i}", nn.Linear(widths[i], h))
            if batch_norm:
                setattr(self, f"bn{i}", nn.BatchNorm1d(h))
        setattr(self, f"fc{self.n}", nn.Linear(widths[-1], n_classes))

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"fc{i}")(x)
            if self.batch_norm:
                x = getattr(self, f"bn{i}")(x)
            x = F.relu(x)
        return getattr(self, f"fc{self.n}")(x)


class Res(nn.Module):
    def __init__(self, c, batch_norm):
        super().__init__()
        self.conv_a = nn.Conv2d(c, c, 3, padding=1)
        self.conv_b = nn.Conv2d(c, c, 3, padding=1)
        self.batch_norm = batch_norm
        if batch_norm:
            self.bn_a = nn.BatchNorm2d(c)
            self.bn_b = nn.BatchNorm2d(c)

    def forward(self, h):
        r = self.conv_a(h)
        if self.batch_norm:
            r = self.bn_a(r)
        r = self.conv_b(F.relu(r))
        if self.batch_norm:
            r = self.bn_b(r)
        return F.relu(h + r)


class Cnn(nn.Module):
    def __init__(self, shape, channels, n_classes, downsample, residual, batch_norm):
        super().__init__()
        self.shape, self.channels = shape, channels
        self.downsample, self.residual, self.batch_norm = downsample, residual, batch_norm
        c_in, h, w = shape
        stride = 2 if downsample == "strided" else 1
        for i, c in enumerate(channels):
            setattr(self, f"conv{i}", nn.Conv2d(c_in, c, 3, stride=stride, padding=1))
            if batch_norm:
                setattr(self, f"bn{i}", nn.BatchNorm2d(c))
            if residual:
                setattr(self, f"res{i}", Res(c, batch_norm))
            c_in = c
            h, w = ((h - 1) // 2 + 1, (w - 1) // 2 + 1) if stride == 2 else (h // 2, w // 2)
        self.fc = nn.Linear(c_in * h * w, n_classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], *self.shape)
        for i in range(len(self.channels)):
            x = getattr(self, f"conv{i}")(x)
            if self.batch_norm:
                x = getattr(self, f"bn{i}")(x)
            x = F.relu(x)
            if self.downsample == "avg_pool":
                x = F.avg_pool2d(x, 2)
            if self.residual:
                x = getattr(self, f"res{i}")(x)
        return self.fc(x.flatten(1))


def export(name, model, arch, d_in, n_classes, n_rows=6):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n_rows, d_in, generator=g)
    y = torch.arange(n_rows) % n_classes
    # Give BatchNorm non-trivial running statistics before exporting.
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(n_rows, d_in, generator=g) * 2 + 0.5)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, f"{name}.safetensors")
    model.eval()
    with torch.no_grad():
        logits = model(x)
    io = {"x": x, "y": y.to(torch.int64), "logits": logits}
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            io[f"after_sgd.{k}"] = v.detach().clone().contiguous()
    save_file(io, f"{name}_io.safetensors")
    with open(f"{name}.json", "w") as f:
        json.dump(arch, f, indent=1)
    print(name, "logits[0] =", logits[0].tolist())


export(
    "mlp",
    Mlp(6, [5, 4], 3, False),
    {"input": {"channels": 1, "height": 1, "width": 6}, "n_classes": 3,
     "layers": {"kind": "mlp", "hidden": [5, 4], "batch_norm": False}},
    6, 3,
)
export(
    "mlp_bn",
    Mlp(6, [5], 3, True),
    {"input": {"channels": 1, "height": 1, "width": 6}, "n_classes": 3,
     "layers": {"kind": "mlp", "hidden": [5], "batch_norm": True}},
    6, 3,
)
export(
    "cnn",
    Cnn((1, 8, 8), [3, 4], 5, "strided", False, False),
    {"input": {"channels": 1, "height": 8, "width": 8}, "n_classes": 5,
     "layers": {"kind": "cnn", "channels": [3, 4], "downsample": "strided", "residual": False, "batch_norm": False}},
    64, 5,
)
export(
    "resnet_bn",
    Cnn((2, 6, 6), [3, 4], 4, "avg_pool", True, True),
    {"input": {"channels": 2, "height": 6, "width": 6}, "n_classes": 4,
     "layers": {"kind": "cnn", "channels": [3, 4], "downsample": "avg_pool", "residual": True, "batch_norm": True}},
    72, 4,
)
