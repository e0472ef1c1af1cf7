// npm run bench: decode throughput and analysis time on a synthetic 1M-token, 32-layer, top-2 trace set,
// next to numpy doing the same analyses on the same files in the same run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { analyze, computeStats } from '../src/core/analysis/stats';
import { parseManifest } from '../src/core/trace/manifest';
import { readTraceSet } from '../src/core/trace/read';
import { decodeShard } from '../src/core/trace/shard';
import { syntheticTrace } from '../src/core/trace/synthetic';
import { dirSource, writeTraceSet } from '../src/cli/fsTrace';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 1_000_000);
const SHAPE = { numLayers: 32, numExperts: 8, topK: 2 };
const REPEAT = 3;
const dir = join('bench', 'out', `synthetic-${TOKENS}`);
const python = existsSync('.venv/bin/python') ? '.venv/bin/python' : 'python3';

function best<T>(n: number, fn: () => T): { ms: number; value: T } {
  let ms = Infinity;
  let value!: T;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, value };
}

async function main() {
  if (!existsSync(join(dir, 'manifest.json'))) {
    process.stderr.write(`writing ${TOKENS} synthetic tokens to ${dir} ...\n`);
    await writeTraceSet(dir, syntheticTrace({ tokens: TOKENS, ...SHAPE, seqLen: 512, seed: 7, withWeights: false }));
  }
  const manifest = parseManifest(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const files = manifest.shards.map((s) => readFileSync(join(dir, s.file)));
  const bytes = files.reduce((a, f) => a + f.length, 0);

  // Decode from bytes already in memory (what the page's worker does after a fetch), all checks included.
  const decode = best(REPEAT, () =>
    files.map((f, i) => decodeShard(new Uint8Array(f.buffer, f.byteOffset, f.length), manifest, manifest.shards[i].file, manifest.shards[i].tokens)),
  );
  // The whole path from disk: read, SHA-256, decode, cross-shard order checks.
  let fullMs = Infinity;
  let set = await readTraceSet(dirSource(dir));
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    set = await readTraceSet(dirSource(dir));
    fullMs = Math.min(fullMs, performance.now() - t0);
  }
  const analysis = best(REPEAT, () => computeStats(set));
  const counts = analyze(set);
  // The same position-weighted checksums numpy prints, so the pair matrices are compared too.
  const checksum = (a: Float64Array) => a.reduce((acc, c, i) => acc + ((c * i) % 1000003), 0);

  const np = JSON.parse(execFileSync(python, ['bench/numpy_analyses.py', dir, '--repeat', String(REPEAT)], { encoding: 'utf8', maxBuffer: 1 << 26 }));
  const maxDiff = Math.max(
    ...analysis.value.entropyBits.map((v, l) => Math.abs(v - np.entropyBits[l])),
    ...analysis.value.reuseFirst.map((v, l) => Math.abs(v - np.reuseFirst[l])),
    ...analysis.value.reuseAny.map((v, l) => Math.abs(v - np.reuseAny[l])),
  );
  if (checksum(counts.coactivation) !== np.coactivationChecksum || checksum(counts.transitions) !== np.transitionsChecksum)
    throw new Error('TypeScript and numpy disagree on co-activation or transition counts');
  if (!(maxDiff < 1e-9) || np.tokens !== analysis.value.tokens) throw new Error(`TypeScript and numpy disagree (max difference ${maxDiff})`);

  const tokS = (ms: number) => TOKENS / (ms / 1000);
  const rows: [string, string][] = [
    ['machine', `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, Node ${process.version}`],
    [
      'trace',
      `${TOKENS} tokens x ${SHAPE.numLayers} layers, ${SHAPE.numExperts} experts top-${SHAPE.topK}, ${manifest.shards.length} shards, ${(bytes / 1e6).toFixed(1)} MB`,
    ],
    ['decode (in memory)', `${decode.ms.toFixed(1)} ms = ${(tokS(decode.ms) / 1e6).toFixed(2)} M tokens/s (target >= 2 M)`],
    ['read + sha256 + decode', `${fullMs.toFixed(1)} ms = ${(tokS(fullMs) / 1e6).toFixed(2)} M tokens/s`],
    ['numpy read + decode', `${(np.decodeSeconds * 1000).toFixed(1)} ms`],
    ['analyses (TypeScript)', `${analysis.ms.toFixed(1)} ms`],
    ['analyses (numpy)', `${(np.analysisSeconds * 1000).toFixed(1)} ms`],
    ['ratio TS / numpy', `${(analysis.ms / (np.analysisSeconds * 1000)).toFixed(3)} (target <= 0.5)`],
    ['results agree', `max |difference| ${maxDiff.toExponential(1)}; pair and transition counts equal`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exit(1);
});
