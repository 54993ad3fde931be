#!/usr/bin/env bash
# Smoke test of pipelines/cifar10 without CIFAR-10: writes a tiny data set in
# CIFAR-10's binary format (1 label byte + 3,072 pixel bytes per image), takes
# the study's own params.toml with only the sizes shrunk (data files, epochs,
# channels, grid, jumps), and runs the whole DAG on it: split, CNN training,
# jump-and-retrain, PHATE, topology, probes, comparison and report.
#
# Usage: tests/cifar10_smoke.sh path/to/basin
set -euo pipefail
BASIN="$(realpath "$1")"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" "$ROOT/pipelines/cifar10/params.toml" <<'PY'
import random, re, sys
work, params = sys.argv[1], sys.argv[2]
rng = random.Random(0)
# 400 images; each class brightens its own horizontal band, so a CNN can learn.
with open(f"{work}/tiny_batch.bin", "wb") as f:
    for i in range(400):
        label = i % 10
        pixels = bytearray(rng.randrange(0, 128) for _ in range(3072))
        for c in range(3):
            for row in range(label * 3, label * 3 + 3):
                for col in range(32):
                    pixels[c * 1024 + row * 32 + col] = 230
        f.write(bytes([label]) + pixels)
text = open(params).read()
subs = [
    (r'cifar_batches = \[[^\]]*\]', f'cifar_batches = ["{work}/tiny_batch.bin"]'),
    (r'channels = \[32, 64, 128\]', 'channels = [4, 8]'),
    (r'(\[train\]\n.*?)epochs = 60', r'\1epochs = 2'),
    (r'weight_decay = \[0.0, 0.0005\]', 'weight_decay = [0.0, 0.0005]'),
    (r'batch_size = \[32, 512\]', 'batch_size = [32]'),
    (r'label_noise = \[0.0, 0.2\]', 'label_noise = [0.0]'),
    (r'epochs = 150', 'epochs = 2'),
    (r'(\[jump\]\n)seeds = \[0, 1, 2, 3\]\nsteps = \[0.25, 0.5, 0.75, 1.0\]\nepochs = 40', r'\1seeds = [0, 1]\nsteps = [0.5, 1.0]\nepochs = 2'),
    (r'sublevel_k = 20', 'sublevel_k = 4'),
    (r'grid_resolution = 9', 'grid_resolution = 3'),
    (r'hessian_top_k = 3\nlanczos_steps = 30\nhutchinson_probes = 30\nslq_probes = 4\nslq_steps = 30',
     'hessian_top_k = 1\nlanczos_steps = 4\nhutchinson_probes = 2\nslq_probes = 1\nslq_steps = 4'),
    (r'folds = 10', 'folds = 2'),
    (r'repeats = 5', 'repeats = 1'),
]
for pattern, repl in subs:
    text, n = re.subn(pattern, repl, text, count=1, flags=re.S)
    if n != 1:
        sys.exit(f"cifar10_smoke: pattern {pattern!r} not found in {params}: update this script with the study")
open(f"{work}/params.toml", "w").write(text)
PY

make -C "$ROOT/pipelines/cifar10" --no-print-directory -j2 BASIN="$BASIN" PARAMS="$WORK/params.toml" OUT="$WORK/out" > "$WORK/make.log" 2>&1 || {
  tail -40 "$WORK/make.log"; echo "cifar10_smoke: FAIL: the pipeline did not complete"; exit 1; }
for f in runs.parquet compare/classifiers.parquet report/report.html; do
  [ -s "$WORK/out/$f" ] || { echo "cifar10_smoke: FAIL: $f missing"; exit 1; }
done
nets=$(ls "$WORK/out/nets/"*.safetensors | wc -l)
echo "cifar10_smoke: ok ($nets CNNs on CIFAR-format data, full pipeline through the report)"
