import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RecordBatch, Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { rechunk } from './chunk';
import { sha256Hex } from './hash';
import { parseManifest, serializeManifest } from './manifest';
import { readTraceSet, type TraceSource } from './read';
import { importFiles } from './importers';
import { REAL } from './importers/test-helpers';
import { decodeShard, encodeShard, inspectShard, validateChunk } from './shard';
import { syntheticTrace } from './synthetic';
import { TraceError, type Manifest, type TraceSet } from './types';

/** An in-memory trace source, built the way a writer lays out a folder. */
async function memorySource(set: TraceSet, shardTokens: number, mutate?: (files: Map<string, Uint8Array>, m: Manifest) => void) {
  const files = new Map<string, Uint8Array>();
  const shards = [];
  for (const [i, c] of rechunk(set, shardTokens).entries()) {
    const bytes = encodeShard(c, set.manifest);
    const file = `shard-${i}.arrow`;
    files.set(file, bytes);
    shards.push({ file, tokens: c.tokens, sha256: await sha256Hex(bytes) });
  }
  const manifest = { ...set.manifest, shards };
  mutate?.(files, manifest);
  const src: TraceSource = {
    label: 'mem',
    readText: async (n) => (n === 'manifest.json' ? serializeManifest(manifest) : new TextDecoder().decode(files.get(n))),
    readBytes: async (n) => {
      const b = files.get(n);
      if (!b) throw new TraceError('file not found', `mem/${n}`);
      return b;
    },
  };
  return { src, files, manifest };
}

describe('shard encode/decode', () => {
  const set = syntheticTrace({ tokens: 1000, numLayers: 5, numExperts: 64, topK: 6, seqLen: 97, seed: 3, datasets: ['a', 'b'] });

  it('round-trips every column across several shards', async () => {
    const { src } = await memorySource(set, 300);
    const back = await readTraceSet(src);
    expect(back.chunks.map((c) => c.tokens)).toEqual([300, 300, 300, 100]);
    const all = (k: 'experts' | 'weights' | 'seq' | 'pos' | 'dataset') => back.chunks.flatMap((c) => Array.from(c[k]!));
    expect(all('experts')).toEqual(Array.from(set.chunks[0].experts));
    expect(all('weights')).toEqual(Array.from(set.chunks[0].weights!));
    expect(all('seq')).toEqual(Array.from(set.chunks[0].seq));
    expect(all('pos')).toEqual(Array.from(set.chunks[0].pos));
    expect(all('dataset')).toEqual(Array.from(set.chunks[0].dataset));
  });

  it('carries token ids, text and logits when the manifest says so', () => {
    const m: Manifest = {
      ...set.manifest,
      numLayers: 2,
      numExperts: 4,
      topK: 2,
      moeLayerIds: [1, 3],
      hasLogits: true,
      hasTokenIds: true,
      hasTokenText: true,
      hasWeights: false,
    };
    const chunk = {
      tokens: 2,
      seq: Int32Array.of(0, 0),
      pos: Int32Array.of(0, 1),
      dataset: Uint16Array.of(1, 1),
      tokenId: Int32Array.of(17, -1),
      tokenText: ['a, "quoted"\nline', 'ünï'],
      experts: Int16Array.of(0, 1, 2, 3, 3, 2, 1, 0),
      logits: Float32Array.from({ length: 16 }, (_, i) => i / 4),
    };
    const back = decodeShard(encodeShard(chunk, m), m, 'x.arrow', 2);
    expect(back.tokenText).toEqual(chunk.tokenText);
    expect(Array.from(back.tokenId!)).toEqual([17, -1]);
    expect(Array.from(back.logits!)).toEqual(Array.from(chunk.logits));
    expect(back.weights).toBeUndefined();
  });

  it('rejects a checksum mismatch, naming the file', async () => {
    const { src } = await memorySource(set, 500, (files) => {
      const b = files.get('shard-1.arrow')!;
      b[b.length >> 1] ^= 0x40;
    });
    await expect(readTraceSet(src)).rejects.toThrow(/mem\/shard-1\.arrow: SHA-256 is [0-9a-f]{64}, the manifest says/);
  });

  it('rejects a truncated shard with a clear message', () => {
    const bytes = encodeShard(set.chunks[0], set.manifest);
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 100), set.manifest, 'cut.arrow')).toThrow(/cut\.arrow: .*truncated/);
    expect(() => decodeShard(bytes.subarray(0, 10), set.manifest, 'tiny.arrow')).toThrow(/tiny\.arrow: only 10 bytes/);
  });

  it('rejects a corrupted shard body without crashing', () => {
    const bytes = encodeShard(set.chunks[0], set.manifest).slice();
    // Corrupt the record batch bodies (past the schema): the Arrow reader itself parses, our checks reject.
    for (let i = bytes.length >> 2; i < bytes.length >> 1; i += 3) bytes[i] ^= 0x5a;
    expect(() => decodeShard(bytes, set.manifest, 'bad.arrow')).toThrow(TraceError);
  });

  it('rejects a shard whose shape disagrees with the manifest', () => {
    const bytes = encodeShard(set.chunks[0], set.manifest);
    const other = { ...set.manifest, topK: 2 };
    expect(() => decodeShard(bytes, other, 's.arrow')).toThrow(/s\.arrow: column "experts" has type .*expected fixed_size_list<int16>\[10\]/);
  });

  it('rejects expert ids out of range, naming row and layer', () => {
    const m = { ...set.manifest, numExperts: 64 };
    const c = { ...set.chunks[0], experts: set.chunks[0].experts.slice() };
    c.experts[(7 * 5 + 2) * 6 + 1] = 64;
    expect(() => decodeShard(encodeShard(c, m), m, 'r.arrow')).toThrow(/r\.arrow: row 7, layer 2: expert id 64 out of range 0\.\.63/);
  });

  it('rejects a row count that differs from the manifest', () => {
    expect(() => decodeShard(encodeShard(set.chunks[0], set.manifest), set.manifest, 'n.arrow', 999)).toThrow(/has 1000 rows, the manifest says 999/);
  });

  it('rejects sequences that are not contiguous across shards', async () => {
    const c = set.chunks[0];
    const swapped = { ...c, seq: c.seq.slice() };
    swapped.seq.fill(0, 900, 960); // sequence 0 comes back near the end
    const { src } = await memorySource({ ...set, chunks: [swapped] }, 500);
    await expect(readTraceSet(src)).rejects.toThrow(/shard-1\.arrow: row 400: sequence 0 appears again/);
  });
});

describe('manifest', () => {
  const base = syntheticTrace({ tokens: 10, numLayers: 2, numExperts: 8, topK: 2 }).manifest;
  it('rejects another format version, saying which', () => {
    expect(() => parseManifest(JSON.stringify({ ...base, version: 2 }), 'm.json')).toThrow(/m\.json: format version 2 is not supported/);
  });
  it('rejects a missing field and names it', () => {
    const { numExperts: _, ...rest } = base;
    expect(() => parseManifest(JSON.stringify(rest), 'm.json')).toThrow(/m\.json: field "numExperts"/);
  });
  it('rejects shard names that leave the folder', () => {
    const bad = { ...base, shards: [{ file: '../etc/passwd', tokens: 1, sha256: '0'.repeat(64) }] };
    expect(() => parseManifest(JSON.stringify(bad), 'm.json')).toThrow(/field "shards\.0\.file"/);
  });
  it('rejects top-k above the expert count and mismatched layer ids', () => {
    expect(() => parseManifest(JSON.stringify({ ...base, topK: 9 }))).toThrow(/topK 9 exceeds numExperts 8/);
    expect(() => parseManifest(JSON.stringify({ ...base, moeLayerIds: [0] }))).toThrow(/moeLayerIds.*1 entries, numLayers is 2/);
  });
  it('rejects text that is not JSON', () => {
    expect(() => parseManifest('{"format":', 'm.json')).toThrow(/m\.json: not valid JSON/);
  });
});

// Bounds before allocation and clear errors of decodeShard, and lone shards (inspectShard).
const DEMO = fileURLToPath(new URL('../../../traces/demo/', import.meta.url));
const small = syntheticTrace({ tokens: 50, numLayers: 4, numExperts: 8, topK: 2, seqLen: 10 });
const m = small.manifest;
const bytes = encodeShard(small.chunks[0], m);
const le32 = (v: number) => new Uint8Array(Int32Array.of(v).buffer);
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('decodeShard bounds and checks', () => {
  it('requires the speclab.format schema metadata', () => {
    const t = tableFromIPC(bytes);
    const schema = new Schema(t.schema.fields);
    const bare = tableToIPC(
      new Table(
        schema,
        t.batches.map((b) => new RecordBatch(schema, b.data)),
      ),
      'file',
    );
    expect(() => decodeShard(bare, m, 'bare.arrow')).toThrow(/^bare\.arrow: schema metadata "speclab\.format" is missing/);
  });

  it('bounds the declared rows by the bytes before reading any column', () => {
    const big: Manifest = { ...m, numLayers: 400, moeLayerIds: Array.from({ length: 400 }, (_, i) => i) };
    expect(() => decodeShard(bytes, big, 'b.arrow')).toThrow(
      /^b\.arrow: declares 50 rows of at least 4810 bytes each \(400 layers, top-2\), but its record batches hold only \d+ bytes/,
    );
  });

  it('rejects string offsets that point outside the text', () => {
    const m2: Manifest = { ...m, hasTokenText: true };
    const texts = Array.from({ length: 50 }, (_, i) => 'w'.repeat(3 + (i % 5)));
    const b = encodeShard({ ...small.chunks[0], tokenText: texts }, m2).slice();
    const at = indexOfBytes(b, new Uint8Array([...le32(0), ...le32(3), ...le32(7), ...le32(12)]));
    expect(at).toBeGreaterThan(0);
    new DataView(b.buffer).setInt32(at + 8, 1_000_000, true);
    expect(() => decodeShard(b, m2, 't.arrow')).toThrow(/^t\.arrow: column "token_text": row 1 has string offsets 3\.\.1000000 outside its \d+ bytes of text/);
  });

  it('finds duplicate experts with large top-k', () => {
    const s = syntheticTrace({ tokens: 20, numLayers: 2, numExperts: 64, topK: 10, seed: 2 });
    const c = { ...s.chunks[0], experts: s.chunks[0].experts.slice() };
    c.experts[(3 * 2 + 1) * 10 + 9] = c.experts[(3 * 2 + 1) * 10 + 2];
    expect(() => validateChunk(c, s.manifest, 'k.arrow')).toThrow(/^k\.arrow: row 3, layer 1: expert \d+ appears twice in the top-10/);
  });
});

describe('lone shards (no manifest)', () => {
  it('infers L, K and E of the demo shard from its widths and ids', () => {
    const r = inspectShard(new Uint8Array(readFileSync(`${DEMO}shard-00000.arrow`)), 'demo.arrow');
    expect([r.manifest.numLayers, r.manifest.topK, r.manifest.numExperts]).toEqual([6, 2, 8]);
    expect(r.inferred.numExperts).toMatch(/logits width 48/);
    expect(r.chunk.tokens).toBe(1024);
  });

  it('infers a Mixtral-like shape without logits (E from the largest id)', () => {
    const s = syntheticTrace({ tokens: 200, numLayers: 32, numExperts: 8, topK: 2, seed: 4 });
    const r = inspectShard(encodeShard(s.chunks[0], s.manifest), 'mix.arrow');
    expect([r.manifest.numLayers, r.manifest.topK, r.manifest.numExperts]).toEqual([32, 2, 8]);
    expect(r.inferred.numExperts).toMatch(/largest expert id 7 \+ 1/);
  });

  it.skipIf(!existsSync(`${REAL}deepseek-v2-lite-chat`))('infers DeepSeek-V2-Lite (26 layers, top-6) from a real imported sequence', () => {
    const dir = `${REAL}deepseek-v2-lite-chat/puffin-1-100/`;
    const r0 = importFiles([{ name: 'p/prompt_1_data.csv', data: readFileSync(`${dir}prompt_1_data.csv`, 'utf8') }]);
    const r = inspectShard(encodeShard(r0.set.chunks[0], r0.set.manifest), 'ds.arrow');
    expect([r.manifest.numLayers, r.manifest.topK]).toEqual([26, 6]);
  });

  it('takes a given shape, and says when it does not fit', () => {
    expect(inspectShard(bytes, 'h.arrow', { numLayers: 4 }).manifest.topK).toBe(2);
    expect(() => inspectShard(bytes, 'h.arrow', { topK: 3 })).toThrow(/^h\.arrow: the experts width 8 does not fit the given shape/);
    expect(() => inspectShard(bytes, 'h.arrow', { numExperts: 4 })).toThrow(/^h\.arrow: row \d+, layer \d+: expert id \d+ out of range 0\.\.3/);
  });
});
