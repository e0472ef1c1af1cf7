#!/usr/bin/env bash
# Runs the speclab CLI bundled by bench/cli-bundle.sh on a Linux x64 machine without Node, learned predictors on the
# GPU through Dawn for Node (WebGPU on Vulkan). Expects .devnode/ (bench/cli-bundle.sh) and, when the machine has no
# Vulkan loader, the loader's .deb files in .gl/ (see docs/benchmarks.md). Arguments are the CLI's:
#   bench/speclab-device.sh eval traces/mx --test-fraction 0.5 --predictor markov,interlayer --json
#   SPECLAB_ENTRY=bench.mjs bench/speclab-device.sh --train --device gpu --model interlayer --json
set -euo pipefail
# The Vulkan loader and glvnd (the NVIDIA Vulkan driver loads through libGLdispatch): from .gl/ when missing.
if ! ldconfig -p | grep -q libvulkan.so.1 || ! ldconfig -p | grep -q libGLdispatch.so.0; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
[ -n "${VK_DRIVER_FILES:-}" ] || for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$f" ] && export VK_DRIVER_FILES=$f && break
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
N=${SPECLAB_NODE_DIR:-/tmp/speclab-node}
if [ ! -x $N/node ] || [ .devnode/node.gz -nt $N/node ]; then
  mkdir -p $N/node_modules/webgpu/dist/linux-x64
  gunzip -c .devnode/node.gz > $N/node.tmp && chmod +x $N/node.tmp && mv $N/node.tmp $N/node
  gunzip -c .devnode/dawn.node.gz > $N/node_modules/webgpu/dist/linux-x64/dawn.node
fi
cp .devnode/node_modules/webgpu/index.js .devnode/node_modules/webgpu/package.json $N/node_modules/webgpu/
for f in .devnode/*.mjs.gz .devnode/*.wasm.gz; do b=$(basename "$f" .gz); gunzip -c "$f" > "$N/$b"; done
exec $N/node $N/${SPECLAB_ENTRY:-cli.mjs} "$@"
