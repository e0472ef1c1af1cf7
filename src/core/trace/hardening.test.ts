// Bounds before allocation and clear errors: the IPC structure check, row bounds, lone-shard inference,
// manifest limits, text encodings. Hostile files and fuzz findings are in hostile.test.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RecordBatch, Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { importFiles } from './importers';
import { REAL } from './importers/test-helpers';
import { checkIpcStructure } from './ipc';
import { LIMITS, parseManifest, serializeManifest } from './manifest';
import { decodeShard, encodeShard, inspectShard, validateChunk } from './shard';
import { syntheticTrace } from './synthetic';
import { TraceError, type Manifest } from './types';

const DEMO = fileURLToPath(new URL('../../../traces/demo/', import.meta.url));
const set = syntheticTrace({ tokens: 50, numLayers: 4, numExperts: 8, topK: 2, seqLen: 10 });
const m = set.manifest;
const bytes = encodeShard(set.chunks[0], m);

const le32 = (v: number) => new Uint8Array(Int32Array.of(v).buffer);
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('Arrow IPC structure check', () => {
  it('accepts what apache-arrow writes, as a file and as a stream, and pyarrow shards', () => {
    expect(checkIpcStructure(bytes, 's')).toMatchObject({ format: 'file', recordBatches: 1, rows: 50 });
    const stream = tableToIPC(tableFromIPC(bytes), 'stream');
    expect(checkIpcStructure(stream, 's')).toMatchObject({ format: 'stream', recordBatches: 1, rows: 50 });
    for (const f of readdirSync(DEMO).filter((x) => x.endsWith('.arrow')))
      expect(checkIpcStructure(new Uint8Array(readFileSync(DEMO + f)), f).rows).toBeGreaterThan(0);
  });

  it('accepts every column type pyarrow writes that apache-arrow reads (extra columns are allowed), V4 and V5', () => {
    const dir = fileURLToPath(new URL('./fixtures/pyarrow-layouts/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.arrow'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) {
      const b = new Uint8Array(readFileSync(dir + f));
      expect(checkIpcStructure(b, f), f).toMatchObject({ rows: 20, recordBatches: 3 });
      expect(tableFromIPC(b).numRows).toBe(20);
    }
  });

  it('rejects a footer length that does not fit in the file', () => {
    const b = bytes.slice();
    new DataView(b.buffer).setInt32(b.length - 10, 0x7fffffff, true);
    expect(() => checkIpcStructure(b, 'f.arrow')).toThrow(/^f\.arrow: file footer length 2147483647 does not fit in the \d+-byte file/);
  });

  it('rejects a stream message whose metadata length runs past the end', () => {
    const b = tableToIPC(tableFromIPC(bytes), 'stream').slice();
    new DataView(b.buffer).setInt32(4, 1 << 30, true);
    expect(() => checkIpcStructure(b, 's.arrow')).toThrow(/^s\.arrow: message 0 at byte 0: metadata length 1073741824 exceeds the \d+ bytes left/);
  });

  it('rejects a footer that lists one record batch twice (a small file posing as a big one)', () => {
    // Two equal batches; point the second footer block at the first batch.
    const t = tableFromIPC(bytes);
    const half = (a: number, b: number) => t.slice(a, b).batches[0];
    const two = tableToIPC(new Table(t.schema, [half(0, 25), half(25, 50)]), 'file').slice();
    const dv = new DataView(two.buffer);
    const footerEnd = two.length - 10;
    const footerStart = footerEnd - dv.getInt32(footerEnd, true);
    // The messages before the footer, by their continuation markers (apache-arrow writes no schema message
    // there; the data holds no 0xFFFFFFFF word): the last two are the record batches.
    const messages: number[] = [];
    for (let p = 8; p < footerStart; p += 8) if (dv.getUint32(p, true) === 0xffffffff && dv.getInt32(p + 4, true) > 0) messages.push(p);
    const [o1, o2] = messages.slice(-2);
    const at = indexOfBytes(two, new Uint8Array(BigInt64Array.of(BigInt(o2)).buffer), footerStart);
    expect(at).toBeGreaterThan(0);
    dv.setBigInt64(at, BigInt(o1), true);
    expect(() => checkIpcStructure(two, 'dup.arrow')).toThrow(/^dup\.arrow: record batch 1 overlaps record batch 0/);
  });
});

describe('decodeShard bounds and checks', () => {
  it('requires the speclab.format schema metadata', () => {
    const t = tableFromIPC(bytes);
    const schema = new Schema(t.schema.fields);
    const bare = tableToIPC(new Table(schema, t.batches.map((b) => new RecordBatch(schema, b.data))), 'file');
    expect(() => decodeShard(bare, m, 'bare.arrow')).toThrow(/^bare\.arrow: schema metadata "speclab\.format" is missing/);
  });

  it('bounds the declared rows by the bytes before reading any column', () => {
    const big: Manifest = { ...m, numLayers: 400, moeLayerIds: Array.from({ length: 400 }, (_, i) => i) };
    expect(() => decodeShard(bytes, big, 'b.arrow')).toThrow(/^b\.arrow: declares 50 rows of at least 4810 bytes each \(400 layers, top-2\), but its record batches hold only \d+ bytes/);
  });

  it('rejects string offsets that point outside the text', () => {
    const m2: Manifest = { ...m, hasTokenText: true };
    const texts = Array.from({ length: 50 }, (_, i) => 'w'.repeat(3 + (i % 5)));
    const b = encodeShard({ ...set.chunks[0], tokenText: texts }, m2).slice();
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

describe('manifest limits and encodings', () => {
  const base = { ...m, shards: [{ file: 'a.arrow', tokens: 10, sha256: '0'.repeat(64) }] };
  it('accepts a UTF-8 byte order mark, rejects UTF-16 and NUL', () => {
    expect(parseManifest('\ufeff' + serializeManifest(base)).numLayers).toBe(4);
    expect(() => parseManifest(serializeManifest(base).replace('"format"', '"form\u0000at"'), 'm.json')).toThrow(/^m\.json: not UTF-8 JSON text/);
  });
  it('rejects absurd token totals and shard sizes', () => {
    const many = Array.from({ length: 43 }, (_, i) => ({ file: `s${i}.arrow`, tokens: LIMITS.maxShardTokens, sha256: '0'.repeat(64) }));
    expect(() => parseManifest(JSON.stringify({ ...base, numLayers: 1, moeLayerIds: [0], shards: many }), 'm.json')).toThrow(/field "shards": 2150000000 tokens in total exceed/);
    const wide = { ...base, numLayers: 64, moeLayerIds: Array.from({ length: 64 }, (_, i) => i), shards: [{ file: 'a.arrow', tokens: LIMITS.maxShardTokens, sha256: '0'.repeat(64) }] };
    expect(() => parseManifest(JSON.stringify(wide), 'm.json')).toThrow(/field "shards\.0\.tokens": 50000000 tokens of 128 values each exceed/);
  });
  it('bounds nesting and clips values in messages (fuzz seed 2, cases 5896 and 7107: a stack overflow, a 200 KB message)', () => {
    const deep = serializeManifest(base).replace('"format": "speclab-trace"', `"format": ${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
    expect(() => parseManifest(deep, 'm.json')).toThrow(/^m\.json: JSON nested 100001 levels deep; a manifest needs at most 64$/);
    const long = serializeManifest(base).replace('"format": "speclab-trace"', `"format": "${'x'.repeat(200_000)}"`);
    expect(() => parseManifest(long, 'm.json')).toThrow(/^m\.json: field "format" is "x{40}…", expected "speclab-trace"$/);
  });
  it('stops at the first bad element of a long array (fuzz seed 1, case 60884: zod listed all 100 000)', () => {
    const text = JSON.stringify({ ...base, shards: Array.from({ length: 100_000 }, (_, i) => i) });
    expect(() => parseManifest(text, 'm.json')).toThrow(/^m\.json: field "shards\.0": expected an object, got 0$/);
    expect(() => parseManifest(JSON.stringify({ ...base, datasets: ['a', 7] }), 'm.json')).toThrow(/^m\.json: field "datasets\.1": expected a string, got 7$/);
  });
  it('never prints an error over several lines', () => {
    expect(new TraceError('bad\nthing\r\u0000', 'f').message).toBe('f: bad\\nthing\\r\\u0000');
    expect(() => parseManifest('{\n"format":\n', 'm.json')).toThrow(/^m\.json: not valid JSON \([^\n]*\)$/);
  });
});

describe('importer text encodings', () => {
  it('names UTF-16 input', () => {
    const utf16 = new Uint8Array([0xff, 0xfe, ...Array.from(new TextEncoder().encode('{"a":1}')).flatMap((c) => [c, 0])]);
    expect(() => importFiles([{ name: 'log.jsonl', data: utf16 }])).toThrow(/^log\.jsonl: UTF-16 text \(byte order mark at the start\); save routing logs as UTF-8/);
  });
  it('names the line and offset of invalid UTF-8', () => {
    const b = new TextEncoder().encode('{"layer": 0}\n{"layer": 1, "x": "?"}\n');
    b[b.indexOf(0x3f)] = 0xff;
    expect(() => importFiles([{ name: 'log.jsonl', data: b }], 'jsonl')).toThrow(/^log\.jsonl: not valid UTF-8 text \(byte 0xff at offset 32, line 2\)/);
  });
});
