// Manifest limits and encodings (manifest.ts): bounded sizes, nesting and messages, UTF-8 only.
import { describe, expect, it } from 'vitest';
import { LIMITS, parseManifest, serializeManifest } from './manifest';
import { syntheticTrace } from './synthetic';
import { TraceError } from './types';

const m = syntheticTrace({ tokens: 50, numLayers: 4, numExperts: 8, topK: 2, seqLen: 10 }).manifest;

describe('manifest limits and encodings', () => {
  const base = { ...m, shards: [{ file: 'a.arrow', tokens: 10, sha256: '0'.repeat(64) }] };
  it('accepts a UTF-8 byte order mark, rejects UTF-16 and NUL', () => {
    expect(parseManifest('\ufeff' + serializeManifest(base)).numLayers).toBe(4);
    expect(() => parseManifest(serializeManifest(base).replace('"format"', '"form\u0000at"'), 'm.json')).toThrow(/^m\.json: not UTF-8 JSON text/);
  });
  it('rejects absurd token totals and shard sizes', () => {
    const many = Array.from({ length: 43 }, (_, i) => ({ file: `s${i}.arrow`, tokens: LIMITS.maxShardTokens, sha256: '0'.repeat(64) }));
    expect(() => parseManifest(JSON.stringify({ ...base, numLayers: 1, moeLayerIds: [0], shards: many }), 'm.json')).toThrow(
      /field "shards": 2150000000 tokens in total exceed/,
    );
    const wide = {
      ...base,
      numLayers: 64,
      moeLayerIds: Array.from({ length: 64 }, (_, i) => i),
      shards: [{ file: 'a.arrow', tokens: LIMITS.maxShardTokens, sha256: '0'.repeat(64) }],
    };
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
