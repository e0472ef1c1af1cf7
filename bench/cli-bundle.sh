#!/usr/bin/env bash
# Bundles the speclab CLI for a Linux x64 machine without Node (e.g. a GPU box): writes .devnode/ with
#   node.gz                     this Node binary, gzipped
#   dawn.node.gz                Dawn for Node (the webgpu package's linux-x64 addon), gzipped
#   node_modules/webgpu/        the package's loader (index.js, package.json)
#   cli.mjs.gz, decodeWorker.mjs.gz   src/cli/main.ts and its decode worker, each bundled into one file, gzipped
#   bench.mjs.gz                `npm run bench -- --train ...` (bench/train-bench.ts) bundled, gzipped
#   *.wasm.gz                   tfjs-backend-wasm's binaries (the CPU fallback), gzipped
# bench/speclab-device.sh runs the CLI from it there (`bench/speclab-device.sh eval SET --predictor ...`).
# Run from the repository root on linux x64 after `npm ci`; .devnode/ is not committed (.git/info/exclude).
#   bench/cli-bundle.sh           bundles the working tree
#   bench/cli-bundle.sh REV       bundles the sources of commit REV (git archive; node_modules from here)
set -euo pipefail
D=$PWD/.devnode
SRC=$PWD
mkdir -p $D/node_modules/webgpu
[ $D/node.gz -nt "$(command -v node)" ] || gzip -9 -c "$(command -v node)" > $D/node.gz
[ $D/dawn.node.gz -nt node_modules/webgpu/dist/linux-x64/dawn.node ] || gzip -9 -c node_modules/webgpu/dist/linux-x64/dawn.node > $D/dawn.node.gz
if [ $# -gt 0 ]; then
  SRC=$(mktemp -d)
  trap 'rm -rf "$SRC"' EXIT
  git archive "$1" src bench package.json tsconfig.json | tar -x -C "$SRC"
  ln -s "$PWD/node_modules" "$SRC/node_modules"
  echo "bundling $(git rev-parse --short "$1")"
fi
cp node_modules/webgpu/index.js node_modules/webgpu/package.json $D/node_modules/webgpu/
for f in node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm; do gzip -9 -c "$f" > "$D/$(basename "$f").gz"; done
# ESM bundles for Node: `require`, `__dirname` and `__filename` as the packages expect them (tfjs-backend-wasm finds
# its .wasm files next to the bundle). The decode worker is found as ./decodeWorker.mjs next to cli.mjs.
BANNER="import {createRequire as __cr} from 'module';import {fileURLToPath as __fu} from 'url';import {dirname as __dn} from 'path';const require=__cr(import.meta.url);const __filename=__fu(import.meta.url);const __dirname=__dn(__filename);"
for pair in src/cli/main.ts:cli.mjs src/cli/decodeWorker.ts:decodeWorker.mjs bench/train-bench.ts:bench.mjs; do
  (cd "$SRC" && npx esbuild "${pair%%:*}" --bundle --platform=node --format=esm --target=node20 --outfile="$D/${pair##*:}" \
    --external:webgpu --log-level=warning "--banner:js=$BANNER")
  gzip -9 -f "$D/${pair##*:}"
done
du -sh $D
