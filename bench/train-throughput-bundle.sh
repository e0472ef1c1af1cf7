#!/usr/bin/env bash
# Prepares .devnode/ for bench/train-throughput-device.sh on a GPU machine without Node: a gzipped copy of this
# Node binary, Dawn for Node (the webgpu package's linux-x64 addon) and the benchmark bundled into one .mjs.
# Run from the repository root on linux x64; .devnode/ is not committed (add it to .git/info/exclude).
set -euo pipefail
D=.devnode
mkdir -p $D/node_modules/webgpu
gzip -9 -c "$(command -v node)" > $D/node.gz
gzip -9 -c node_modules/webgpu/dist/linux-x64/dawn.node > $D/dawn.node.gz
cp node_modules/webgpu/index.js node_modules/webgpu/package.json $D/node_modules/webgpu/
npx esbuild bench/train-throughput.ts --bundle --platform=node --format=esm --target=node20 --outfile=$D/bench.mjs \
  --external:webgpu --log-level=warning "--banner:js=import {createRequire as __cr} from 'module';const require=__cr(import.meta.url);"
du -sh $D
