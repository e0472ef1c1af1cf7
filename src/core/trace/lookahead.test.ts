// The lookahead_logits column: decoded as the Python writer (collector/speclab_collect/writer.py) wrote it, carried
// by slicing and gathering, written back, and refused with the file and column named when it does not fit.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dirSource } from '../../cli/fsTrace';
import { gatherRows } from '../tasks/task';
import { lookaheadWidth, sliceChunk } from './chunk';
import { parseManifest } from './manifest';
import { readTraceSet } from './read';
import { decodeShard, encodeShard, inspectShard, LOOKAHEAD_COLUMN } from './shard';
import { syntheticTrace } from './synthetic';
import type { Manifest, TraceChunk } from './types';

const DEMO = fileURLToPath(new URL('../../../traces/demo/', import.meta.url));
const PYTHON = '.venv/bin/python';

/** Element (t, l, h, e) of the Python-written fixture: a value that names its place, NaN where layer l+h is missing. */
const value = (t: number, l: number, h: number, e: number, L: number) => (l + h >= L ? NaN : t * 1000 + l * 100 + h * 10 + e + 0.5);

// A trace set written by the collector's writer: 2 sequences of 5 and 4 tokens in shards of 4 tokens, L=3, E=4,
// top-2, lookahead horizon 2, element [t, l, h-1, e] = value(t, l, h, e) (t counts over the whole set).
const WRITE = `
import sys, numpy as np
from speclab_collect.writer import TraceWriter
L, E, K, H = 3, 4, 2, 2
w = TraceWriter(sys.argv[1], model_name="t/m", model_revision=None, engine="unit-test", quantization="fp32", num_layers=L, num_experts=E,
                top_k=K, moe_layer_ids=[0, 1, 2], datasets=["a"], has_weights=False, has_logits=False,
                has_token_ids=False, has_token_text=False, shard_tokens=4, lookahead_horizon=H)
t0 = 0
with w:
    for s, n in enumerate([5, 4]):
        t = np.arange(t0, t0 + n)[:, None, None, None]
        l = np.arange(L)[None, :, None, None]
        h = np.arange(1, H + 1)[None, None, :, None]
        e = np.arange(E)[None, None, None, :]
        la = (t * 1000 + l * 100 + h * 10 + e + 0.5).astype(np.float32)
        la = np.where(l + h >= L, np.float32(np.nan), la)
        ex = np.tile(np.array([[0, 1], [2, 3], [1, 0]], np.int16), (n, 1, 1))
        w.add_tokens(seq=s, pos=np.arange(n), dataset=0, experts=ex, lookahead=la)
        t0 += n
`;

function pythonSet(): string {
  const dir = mkdtempSync(join(tmpdir(), 'speclab-lookahead-'));
  execFileSync(PYTHON, ['-c', WRITE, dir]);
  return dir;
}

/** One chunk of L=3 layers, E=4, top-2 with lookahead horizon H: lookahead[(t*L + l)*H + h-1)*E + e] = value(). */
function chunkWithLookahead(tokens: number, H: number): { manifest: Manifest; chunk: TraceChunk } {
  const set = syntheticTrace({ tokens, numLayers: 3, numExperts: 4, topK: 2, withWeights: false });
  const L = 3;
  const E = 4;
  const lookahead = new Float32Array(tokens * L * H * E);
  for (let t = 0; t < tokens; t++)
    for (let l = 0; l < L; l++) for (let h = 1; h <= H; h++) for (let e = 0; e < E; e++) lookahead[((t * L + l) * H + h - 1) * E + e] = value(t, l, h, e, L);
  return { manifest: { ...set.manifest, lookaheadHorizon: H }, chunk: { ...set.chunks[0], lookahead } };
}

describe('lookahead_logits as the Python writer writes it', () => {
  it('decodes every element at (t, l, h, e) with NaN where layer l+h does not exist, across shards', async () => {
    const dir = pythonSet();
    const set = await readTraceSet(dirSource(dir));
    expect(set.manifest.lookaheadHorizon).toBe(2);
    expect(set.chunks.map((c) => c.tokens)).toEqual([4, 4, 1]);
    let t = 0;
    for (const c of set.chunks) {
      expect(c.lookahead).toBeInstanceOf(Float32Array);
      expect(c.lookahead!.length).toBe(c.tokens * 3 * 2 * 4);
      for (let r = 0; r < c.tokens; r++, t++)
        for (let l = 0; l < 3; l++)
          for (let h = 1; h <= 2; h++)
            for (let e = 0; e < 4; e++) {
              const got = c.lookahead![((r * 3 + l) * 2 + h - 1) * 4 + e];
              const want = value(t, l, h, e, 3);
              if (Number.isNaN(want)) expect(got).toBeNaN();
              else expect(got).toBe(want);
            }
    }
    expect(t).toBe(9);
  });

  it('decodes the demo set’s column byte for byte as pyarrow reads it', async () => {
    const set = await readTraceSet(dirSource(DEMO));
    const m = set.manifest;
    expect(m.lookaheadHorizon).toBe(2);
    const hash = createHash('sha256');
    for (const c of set.chunks) {
      expect(c.lookahead!.length).toBe(c.tokens * m.numLayers * 2 * m.numExperts);
      hash.update(new Uint8Array(c.lookahead!.buffer, c.lookahead!.byteOffset, c.lookahead!.byteLength));
    }
    const py = execFileSync(PYTHON, [
      '-c',
      `import sys, hashlib, numpy as np
from speclab_collect.reader import column, read_trace
m, t = read_trace(sys.argv[1])
a = column(t, "lookahead_logits", m["numLayers"] * m["lookaheadHorizon"] * m["numExperts"])
print(hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest(), a.shape[0])`,
      DEMO,
    ])
      .toString()
      .trim()
      .split(' ');
    expect(Number(py[1])).toBe(set.chunks.reduce((n, c) => n + c.tokens, 0));
    expect(hash.digest('hex')).toBe(py[0]);
  });

  it('reads a manifest without lookaheadHorizon as before, and refuses one out of range', () => {
    const m = JSON.parse(readFileSync(join(DEMO, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete m.lookaheadHorizon;
    expect(parseManifest(JSON.stringify(m)).lookaheadHorizon).toBeUndefined();
    expect(() => parseManifest(JSON.stringify({ ...m, lookaheadHorizon: 0 }), 'x/manifest.json')).toThrow(/^x\/manifest\.json: field "lookaheadHorizon"/);
    expect(() => parseManifest(JSON.stringify({ ...m, lookaheadHorizon: 1.5 }), 'x/manifest.json')).toThrow(/field "lookaheadHorizon"/);
  });
});

describe('lookahead_logits in TypeScript', () => {
  it('survives encodeShard and decodeShard, and a lone shard gives its horizon', () => {
    const { manifest, chunk } = chunkWithLookahead(7, 2);
    const bytes = encodeShard(chunk, manifest);
    const back = decodeShard(bytes, manifest, 'a.arrow', 7);
    expect(Array.from(back.lookahead!)).toEqual(Array.from(chunk.lookahead!));
    const lone = inspectShard(bytes, 'a.arrow');
    expect(lone.manifest.lookaheadHorizon).toBe(2);
    expect(lone.chunk.lookahead!.length).toBe(7 * 3 * 2 * 4);
  });

  it('sliceChunk and gatherRows carry each row’s L·H·E values', () => {
    const { chunk } = chunkWithLookahead(6, 2);
    const W = 3 * 2 * 4;
    expect(lookaheadWidth(chunk)).toBe(W);
    const s = sliceChunk(chunk, { numLayers: 3, numExperts: 4, topK: 2 }, 2, 5);
    expect(Array.from(s.lookahead!)).toEqual(Array.from(chunk.lookahead!.subarray(2 * W, 5 * W)));
    const g = gatherRows(chunk, [4, 1], 3 * 2, 3 * 4);
    expect(Array.from(g.lookahead!)).toEqual([...chunk.lookahead!.subarray(4 * W, 5 * W), ...chunk.lookahead!.subarray(W, 2 * W)]);
    const none = gatherRows({ ...chunk, lookahead: undefined }, [0], 6, 12);
    expect(none.lookahead).toBeUndefined();
  });

  it('a list of the wrong size names the file, the column and what its width is made of', () => {
    const { manifest, chunk } = chunkWithLookahead(3, 1);
    const bytes = encodeShard(chunk, manifest);
    expect(() => decodeShard(bytes, { ...manifest, lookaheadHorizon: 2 }, 'set/shard-00000.arrow', 3)).toThrow(
      /^set\/shard-00000\.arrow: column "lookahead_logits" has type .*12.*, expected fixed_size_list<float32>\[24\] \(numLayers 3 × lookaheadHorizon 2 × numExperts 4\)$/,
    );
  });

  it('a manifest with lookaheadHorizon over shards without the column is refused, naming both', () => {
    const { manifest, chunk } = chunkWithLookahead(3, 2);
    const bytes = encodeShard(chunk, { ...manifest, lookaheadHorizon: undefined });
    expect(() => decodeShard(bytes, manifest, 'set/shard-00001.arrow', 3)).toThrow(
      `set/shard-00001.arrow: missing column "${LOOKAHEAD_COLUMN}" (the manifest's lookaheadHorizon 2 says the shards carry it)`,
    );
  });

  it('values for a layer beyond the last must be NaN, and a present step must be finite', () => {
    const { manifest, chunk } = chunkWithLookahead(3, 2);
    const beyond = chunk.lookahead!.slice();
    beyond[((1 * 3 + 2) * 2 + 0) * 4 + 3] = 1; // token 1, layer 2, step 1: layer 3 does not exist
    expect(() => decodeShard(encodeShard({ ...chunk, lookahead: beyond }, manifest), manifest, 'b.arrow', 3)).toThrow(
      /^b\.arrow: column "lookahead_logits": row 1, layer 2, step 1, expert 3 is 1; layer 3 does not exist \(3 MoE layers\)/,
    );
    const inf = chunk.lookahead!.slice();
    inf[((0 * 3 + 0) * 2 + 1) * 4 + 2] = Infinity;
    expect(() => decodeShard(encodeShard({ ...chunk, lookahead: inf }, manifest), manifest, 'c.arrow', 3)).toThrow(
      /^c\.arrow: column "lookahead_logits": row 0, layer 0, step 2, expert 2 is Infinity/,
    );
  });
});
