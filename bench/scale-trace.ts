// Writes the synthetic scale trace set: 10M tokens x 32 MoE layers, 8 experts, top-2, ten datasets with their
// own expert preferences, 512-token sequences, fixed-size shards with SHA-256 checksums in the manifest.
//
//   npx tsx bench/scale-trace.ts [--tokens N] [--shard-tokens N] [--out DIR]
//
// Written shard by shard from a generator (memory stays at one shard); an existing complete set is kept.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { verifyWrittenSet, writeTraceChunks } from '../src/cli/fsTrace';
import { parseManifest } from '../src/core/trace/manifest';
import { syntheticChunks, syntheticManifest, type SyntheticOptions } from '../src/core/trace/synthetic';
import type { Manifest } from '../src/core/trace/types';

export const SCALE_SHAPE = { numLayers: 32, numExperts: 8, topK: 2 };
export const SCALE_DATASETS = ['wiki', 'code', 'math', 'chat', 'news', 'law', 'med', 'fiction', 'web', 'qa'];

export interface ScaleOptions {
  tokens: number;
  shardTokens: number;
  dir?: string;
}

export const scaleDir = (tokens: number) => join('bench', 'out', `scale-${tokens}`);

export function scaleOptions(tokens: number): SyntheticOptions {
  return { tokens, ...SCALE_SHAPE, seqLen: 512, seed: 11, datasets: SCALE_DATASETS, datasetSkew: true, withWeights: false };
}

/** The set's manifest, writing the set first if it is not there (or was left half-written). */
export async function ensureScaleTrace(o: ScaleOptions, log: (s: string) => void = () => {}): Promise<{ dir: string; manifest: Manifest }> {
  const dir = o.dir ?? scaleDir(o.tokens);
  const path = join(dir, 'manifest.json');
  if (existsSync(path)) {
    const manifest = parseManifest(readFileSync(path, 'utf8'), path);
    if (manifest.shards.reduce((n, s) => n + s.tokens, 0) === o.tokens && manifest.shards.every((s) => existsSync(join(dir, s.file)))) {
      // Kept only if it reads back whole (a set written by an older, broken writer is written again).
      const whole = await verifyWrittenSet(dir, manifest).then(
        () => true,
        (e: Error) => (log(`rewriting ${dir}: ${e.message}\n`), false),
      );
      if (whole) return { dir, manifest };
    }
  }
  const syn = scaleOptions(o.tokens);
  const shards = Math.ceil(o.tokens / o.shardTokens);
  const t0 = performance.now();
  const manifest = await writeTraceChunks(dir, syntheticManifest(syn), syntheticChunks(syn, o.shardTokens), (i) =>
    log(`\rwriting ${dir}: shard ${i + 1}/${shards}`),
  );
  log(` (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  return { dir, manifest };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tokens = Number(arg('--tokens', '10000000'));
  const shardTokens = Number(arg('--shard-tokens', '250000'));
  if (!(Number.isInteger(tokens) && tokens > 0 && Number.isInteger(shardTokens) && shardTokens > 0)) {
    process.stderr.write('--tokens and --shard-tokens must be positive integers\n');
    process.exit(2);
  }
  ensureScaleTrace({ tokens, shardTokens, dir: arg('--out', scaleDir(tokens)) }, (s) => process.stderr.write(s))
    .then(({ dir, manifest }) => process.stdout.write(`${dir}: ${manifest.shards.length} shards, ${tokens} tokens\n`))
    .catch((e) => {
      process.stderr.write(`scale-trace failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
}
