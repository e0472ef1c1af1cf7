#!/usr/bin/env bash
# Runs the training-throughput benchmark on a Linux machine with an NVIDIA GPU and no Node: the tfjs WebGPU paths
# (Dawn for Node through Vulkan) and PyTorch CUDA, side by side. Expects, next to the checkout:
#   .devnode/node.gz           a gzipped Node 20 binary (linux x64)
#   .devnode/dawn.node.gz      node_modules/webgpu/dist/linux-x64/dawn.node, gzipped
#   .devnode/node_modules/webgpu/{index.js,package.json}
#   .devnode/bench.mjs         bench/train-throughput.ts bundled
# (bench/train-throughput-bundle.sh makes all of .devnode/), and
#   .gl/*.deb                  the Vulkan loader (libvulkan1) when the machine has none
# Writes tfjs.json, torch.json and the logs to $OUT (default ./bench/out).
set -euo pipefail
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
if ! ldconfig -p | grep -q libvulkan.so.1; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json} XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
N=/tmp/speclab-node
mkdir -p $N/node_modules/webgpu/dist/linux-x64
gunzip -c .devnode/node.gz > $N/node && chmod +x $N/node
gunzip -c .devnode/dawn.node.gz > $N/node_modules/webgpu/dist/linux-x64/dawn.node
cp .devnode/node_modules/webgpu/index.js .devnode/node_modules/webgpu/package.json $N/node_modules/webgpu/
cp .devnode/bench.mjs $N/
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$OUT/gpu.txt"
$N/node $N/bench.mjs "$@" > "$OUT/tfjs.json" 2> >(tee "$OUT/tfjs.log" >&2)
# The same shape for PyTorch: every option but the tfjs-only ones.
TORCH_ARGS=()
while [ $# -gt 1 ]; do
  case "$1" in --check|--paths) ;; *) TORCH_ARGS+=("$1" "$2") ;; esac
  shift 2
done
python3 bench/train_throughput_torch.py "${TORCH_ARGS[@]}" --tfjs "$OUT/tfjs.json" | tee "$OUT/torch.txt"
