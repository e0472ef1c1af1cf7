#!/usr/bin/env bash
# InterLayer training on a GPU machine without Node: SpecLab's fastest path (`bench --train --device gpu`, the fused
# WGSL step on Dawn for Node) and every PyTorch reference of bench/train_throughput_torch.py (eager fp32, eager with
# cuDNN TF32, the whole step as a CUDA graph, torch.compile) on the same shape in one run, with every ratio.
# Needs .devnode/ (bench/cli-bundle.sh) and, without a Vulkan loader there, .gl/*.deb (docs/benchmarks.md).
#   bench/train-ratios-device.sh [--windows N --epochs N --batch N --hidden N --layers N --experts N --topk N
#                                 --context N --horizon N --embedding N] [--modes eager,tf32,graph,compile]
# Writes speclab.json, torch.json and the logs to $OUT (default bench/out).
set -euo pipefail
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
SHAPE=() MODES=()
while [ $# -gt 1 ]; do
  case "$1" in --modes) MODES=("$1" "$2") ;; *) SHAPE+=("$1" "$2") ;; esac
  shift 2
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
# Dawn writes WebGPU validation messages to stdout: keep the JSON line only.
SPECLAB_ENTRY=bench.mjs bench/speclab-device.sh --train --device gpu --model interlayer "${SHAPE[@]}" --json 2> "$OUT/speclab.log" \
  | grep '^{"bench"' > "$OUT/speclab.json"
python3 bench/train_throughput_torch.py "${SHAPE[@]}" "${MODES[@]}" --speclab "$OUT/speclab.json" 2> "$OUT/torch.log" | tee "$OUT/torch.txt"
