/**
 * Seed inputs for the mutation fuzzer: small real shards (the bundled demo trace set, and the real Mixtral and
 * DeepSeek traces of ../shared/traces-real/ imported and re-encoded), a stream-format shard, trace set
 * manifests with their shards, and slices of the real JSONL and hook-CSV routing logs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import Papa from 'papaparse';
import { sliceChunk } from '../core/trace/chunk';
import { sha256Hex } from '../core/trace/hash';
import { importFiles } from '../core/trace/importers';
import { naturalCompare } from '../core/trace/importers/hookCsv';
import { parseManifest, serializeManifest } from '../core/trace/manifest';
import { decodeShard, encodeShard } from '../core/trace/shard';
import { syntheticTrace } from '../core/trace/synthetic';
import type { Manifest, TraceChunk } from '../core/trace/types';

export type Target = 'decode' | 'inspect' | 'jsonl' | 'csv' | 'traceset';

export interface Seed {
  name: string;
  target: Target;
  /** The bytes mutated: a shard, a routing log, or (traceset) the manifest text. */
  bytes: Uint8Array;
  /** decode: the manifest the shard is checked against, and its row count. */
  manifest?: Manifest;
  tokens?: number;
  /** traceset: the shards, by file name. */
  files?: Record<string, Uint8Array>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_DIR = `${ROOT}traces/demo/`;
export const REAL_DIR = fileURLToPath(new URL('../../../shared/traces-real/', import.meta.url));

const utf8 = (s: string) => new TextEncoder().encode(s);

function shardSeeds(name: string, chunk: TraceChunk, m: Manifest): Seed[] {
  const bytes = encodeShard(chunk, m);
  return [
    { name: `${name}.arrow`, target: 'decode', bytes, manifest: m, tokens: chunk.tokens },
    { name: `${name}.arrow (lone)`, target: 'inspect', bytes },
  ];
}

/** A trace set seed: the manifest text to mutate plus its (unmutated) shards. */
async function traceSetSeed(name: string, m: Manifest, chunks: TraceChunk[]): Promise<Seed> {
  const files: Record<string, Uint8Array> = {};
  const shards = [];
  for (const [i, c] of chunks.entries()) {
    const file = `shard-${i}.arrow`;
    files[file] = encodeShard(c, m);
    shards.push({ file, tokens: c.tokens, sha256: await sha256Hex(files[file]) });
  }
  return { name, target: 'traceset', bytes: utf8(serializeManifest({ ...m, shards })), files };
}

/** Lines of a JSONL log whose token index is below `maxToken`, keeping the log's order. */
function jsonlSlice(text: string, maxToken: number, maxProblems: number): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { token_idx: number; problem_id: number };
    if (r.token_idx < maxToken && r.problem_id < maxProblems) out.push(line);
  }
  return out.join('\n') + '\n';
}

/** The header and the first `tokens` rows of every layer of a hook CSV (tokens may hold quoted newlines). */
function csvSlice(text: string, tokens: number): string {
  const rows = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;
  const seen = new Map<string, number>();
  const kept = rows.filter((r, i) => {
    if (i === 0) return true;
    const n = seen.get(r[0]) ?? 0;
    seen.set(r[0], n + 1);
    return n < tokens;
  });
  return Papa.unparse(kept, { newline: '\n' }) + '\n';
}

export async function buildCorpus(): Promise<Seed[]> {
  const seeds: Seed[] = [];

  // The bundled demo trace set (written by pyarrow): a 48-token slice re-encoded, and a whole pyarrow shard.
  const demo = parseManifest(readFileSync(`${DEMO_DIR}manifest.json`, 'utf8'));
  const demoBytes = new Uint8Array(readFileSync(`${DEMO_DIR}${demo.shards[1].file}`));
  const demoChunk = decodeShard(demoBytes, demo, 'demo');
  seeds.push({ name: 'demo pyarrow shard', target: 'decode', bytes: demoBytes, manifest: demo, tokens: demo.shards[1].tokens });
  const demoSlice = sliceChunk(demoChunk, demo, 0, 48);
  seeds.push(...shardSeeds('demo slice', demoSlice, demo));
  seeds.push(await traceSetSeed('demo manifest', demo, [sliceChunk(demoChunk, demo, 0, 30), sliceChunk(demoChunk, demo, 30, 60)]));

  // Synthetic DeepSeek-like shape with large top-k, and the same shard as an IPC stream.
  const syn = syntheticTrace({ tokens: 64, numLayers: 4, numExperts: 64, topK: 6, seqLen: 20, seed: 7, datasets: ['a', 'b'] });
  seeds.push(...shardSeeds('synthetic', syn.chunks[0], syn.manifest));
  const stream = tableToIPC(tableFromIPC(encodeShard(syn.chunks[0], syn.manifest)), 'stream');
  seeds.push({ name: 'synthetic stream', target: 'decode', bytes: stream, manifest: syn.manifest, tokens: 64 });
  seeds.push(
    await traceSetSeed('synthetic manifest', syn.manifest, [sliceChunk(syn.chunks[0], syn.manifest, 0, 40), sliceChunk(syn.chunks[0], syn.manifest, 40, 64)]),
  );

  // Real traces, when present next to the repo.
  const mixtralLog = `${REAL_DIR}mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl`;
  if (existsSync(mixtralLog)) {
    const slice = jsonlSlice(readFileSync(mixtralLog, 'utf8'), 4, 2);
    seeds.push({ name: 'mixtral.jsonl', target: 'jsonl', bytes: utf8(slice) });
    const r = importFiles([{ name: 'mixtral.jsonl', data: slice }]);
    seeds.push(...shardSeeds('mixtral', sliceChunk(r.set.chunks[0], r.set.manifest, 0, Math.min(8, r.tokens)), r.set.manifest));
  }
  const dsDir = `${REAL_DIR}deepseek-v2-lite-chat/puffin-1-100/`;
  if (existsSync(dsDir)) {
    const first = readdirSync(dsDir).sort(naturalCompare)[0];
    const slice = csvSlice(readFileSync(dsDir + first, 'utf8'), 4);
    seeds.push({ name: 'deepseek.csv', target: 'csv', bytes: utf8(slice) });
    const r = importFiles([{ name: 'puffin/deepseek.csv', data: slice }]);
    seeds.push(...shardSeeds('deepseek', r.set.chunks[0], r.set.manifest));
  }
  return seeds;
}
