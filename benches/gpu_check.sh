#!/usr/bin/env bash
# basin-train on a CUDA machine, in one call (about 3–6 minutes on an H100/H200):
#   1. `basin train` and `basin jump` of a digits MLP and an MNIST CNN on the GPU and
#      on the CPU; the jumps start from the same (CPU-trained) checkpoint, so their
#      trajectories must agree within float tolerance (checked, PASS/FAIL lines);
#      base training is compared loosely (it runs many more steps: rounding grows);
#   2. `basin jump --net` (16 jumps of the digits MLP batched on the GPU) against the
#      sequential CPU shard of the same seed and step;
#   3. per-step times on the GPU (basin's step_time) beside PyTorch's on the same card
#      when torch is importable there (else it says so), and 16/32 batched vs
#      sequential jumps on the GPU.
#
# No Rust is needed there: only the repository files and two stripped binaries built
# here with `--features cuda` (see benches/results/basin-train.md, "GPU check"):
#   benches/gpu_check.sh [BIN_DIR]     BIN_DIR holds `basin` and `step_time`, or the same
#                                      xz-compressed as `basin.xz`, `step_time.xz` (default .gpu)
# Writes its files under ${OUT:-/tmp}/basin-gpu-check; exits non-zero if a check fails.
# GPU_DEVICE=cpu runs the same script with CPU binaries against themselves (a dry run of
# the script itself on a machine without a GPU).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/.gpu}" && pwd)
work=${OUT:-/tmp}/basin-gpu-check
mkdir -p "$work"
# The binaries travel xz-compressed (the device tool carries at most 64 MiB).
binary() { # binary NAME: path of NAME in $bin, unpacking NAME.xz when that is what came
  if [ -x "$bin/$1" ]; then echo "$bin/$1"; return; fi
  mkdir -p /tmp/basin-gpu-bin
  xz -dc "$bin/$1.xz" >"/tmp/basin-gpu-bin/$1" 2>/dev/null \
    || python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$bin/$1.xz" "/tmp/basin-gpu-bin/$1"
  chmod +x "/tmp/basin-gpu-bin/$1"
  echo "/tmp/basin-gpu-bin/$1"
}
basin=$(binary basin)
step_time=$(binary step_time)
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
py=python3
gpu=${GPU_DEVICE:-cuda}
failures=0
t0=$(date +%s)
say() { echo "[$(($(date +%s) - t0))s] $*"; }
run() { # run LABEL CMD...: times a command, keeps its log, counts a failure
  local label=$1; shift
  local s; s=$(date +%s%N)
  if "$@" >"$work/$label.log" 2>&1; then
    say "$label: ok in $(( ($(date +%s%N) - s) / 1000000 )) ms"
  else
    say "$label: FAILED (exit $?), last lines of $work/$label.log:"; tail -5 "$work/$label.log"; failures=$((failures + 1))
  fi
}

say "machine: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1); $(nproc) cores"
"$basin" --version || { echo "cannot run $basin (missing libraries? LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"; ldd "$basin" | grep "not found"; exit 2; }

# ---- params: small versions of the digits demo and of an MNIST CNN -------------------
write_params() { # write_params FILE DATASET ARCHITECTURE EPOCHS BATCH
  cat >"$1" <<EOF
[data]
dataset = "$2"
data_dir = "$root/data"
val_fraction = 0.15
test_fraction = 0.25
standardize = "global"
seed = 0

[train]
architecture = $3
epochs = $4
lr = 0.05
momentum = 0.9
seeds = [0]

[train.grid]
weight_decay = [0.0005]
batch_size = [$5]
augment = [false]
label_noise = [0.0]

[jump]
seeds = [0, 1, 2, 3]
steps = [0.25, 0.5, 0.75, 1.0]
epochs = 5
lr = 0.001
momentum = 0.9
weight_decay = 0.0001
batch_size = 128
EOF
}
write_params "$work/digits.toml" digits '{ kind = "mlp", hidden = [64] }' 20 32
write_params "$work/cnn.toml" mnist5k '{ kind = "cnn", channels = [16, 32, 32], downsample = "strided" }' 3 64
net=wd0.0005-bs32-aug0-noise0-s0
cnn_net=wd0.0005-bs64-aug0-noise0-s0

# compare A B TOL_LOSS TOL_WEIGHT: trajectories files agree epoch by epoch
compare() {
  $py - "$@" <<'EOF'
import sys
import pyarrow.parquet as pq
a, b, tol_loss, tol_w = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
ta, tb = pq.read_table(a).to_pydict(), pq.read_table(b).to_pydict()
ok = len(ta["epoch"]) == len(tb["epoch"])
worst_loss = worst_w = 0.0
for i in range(min(len(ta["epoch"]), len(tb["epoch"]))):
    for col in ("train_loss", "val_loss", "test_loss"):
        worst_loss = max(worst_loss, abs(ta[col][i] - tb[col][i]))
    wa, wb = ta["weights"][i], tb["weights"][i]
    worst_w = max(worst_w, max(abs(x - y) for x, y in zip(wa, wb)))
ok = ok and worst_loss <= tol_loss and worst_w <= tol_w
print(f"{'PASS' if ok else 'FAIL'}: {len(ta['epoch'])} vs {len(tb['epoch'])} points, largest loss difference "
      f"{worst_loss:.2e} (tolerance {tol_loss:g}), largest weight difference {worst_w:.2e} (tolerance {tol_w:g})")
sys.exit(0 if ok else 1)
EOF
}

# compare_runs A B TOL_ACC: run tables (base training) agree loosely
compare_runs() {
  $py - "$@" <<'EOF'
import sys
import pyarrow.parquet as pq
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
ra, rb = pq.read_table(a).to_pylist()[0], pq.read_table(b).to_pylist()[0]
cols = [c for c in ("train_acc", "test_acc", "train_loss", "test_loss") if c in ra]
diff = {c: abs(ra[c] - rb[c]) for c in cols}
acc = max(diff.get("train_acc", 0.0), diff.get("test_acc", 0.0))
ok = acc <= tol
print(f"{'PASS' if ok else 'FAIL'}: base net, CPU vs GPU run: " + ", ".join(f"{c} {ra[c]:.4f} vs {rb[c]:.4f}" for c in cols)
      + f" (accuracy tolerance {tol:g})")
sys.exit(0 if ok else 1)
EOF
}

check() { # check LABEL CMD...: a comparison; its PASS/FAIL line is printed
  local label=$1; shift
  local line; line=$("$@" 2>&1); local rc=$?
  say "$label: $line"
  [ $rc -eq 0 ] || failures=$((failures + 1))
}

for study in digits cnn; do
  p="$work/$study.toml"; d="$work/$study"; mkdir -p "$d"
  n=$net; [ $study = cnn ] && n=$cnn_net
  run "$study-split" "$basin" data split --params "$p" --out "$d/split.parquet"
  for dev in cpu $gpu; do
    run "$study-train-$dev" "$basin" train --params "$p" --split "$d/split.parquet" --run "$n" \
      --out "$d/$dev.safetensors" --run-table "$d/$dev.run.parquet" --device $dev
  done
  check "$study base training" compare_runs "$d/cpu.run.parquet" "$d/$gpu.run.parquet" 0.03
  for dev in cpu $gpu; do
    run "$study-jump-$dev" "$basin" jump --params "$p" --split "$d/split.parquet" --checkpoint "$d/cpu.safetensors" \
      --shard "${n}__j1_s0.5" --out "$d/jump-$dev.parquet" --device $dev --force
  done
  check "$study jump CPU vs $gpu" compare "$d/jump-cpu.parquet" "$d/jump-$gpu.parquet" 2e-3 2e-3
done

d="$work/digits"
run digits-jump-net-$gpu "$basin" jump --params "$work/digits.toml" --split "$d/split.parquet" \
  --checkpoint "$d/cpu.safetensors" --net "$net" --out-dir "$d/net-$gpu" --device $gpu --force
check "digits batched $gpu vs sequential CPU" compare "$d/jump-cpu.parquet" "$d/net-$gpu/${net}__j1_s0.5.parquet" 2e-3 2e-3
grep -h "shards in" "$work/digits-jump-net-$gpu.log" | tail -1

# ---- speed: per step on the GPU, PyTorch beside it ------------------------------------
say "per-step times on $gpu (basin step_time; PyTorch on the same card if importable)"
PYTHONUNBUFFERED=1 $py "$root/benches/train_vs_pytorch.py" --device $gpu --exe "$step_time" --threads 1 --repeat 3 --jumps \
  2>&1 | tee "$work/speed.log" || failures=$((failures + 1))

say "done: $failures failure(s); logs in $work"
[ $failures -eq 0 ]
