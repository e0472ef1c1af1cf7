import { describe, expect, it } from 'vitest';
import { createRng } from '../experiment/rng';
import { syntheticChunks, syntheticManifest, type SyntheticOptions } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import { indexSequences, MAX_TOKEN_WINDOW, tokenWindow } from './tokens';

const opts: SyntheticOptions = { tokens: 1000, numLayers: 4, numExperts: 16, topK: 2, seqLen: 90, datasets: ['a', 'b', 'c'], seed: 3 };

/** A synthetic set in chunks of 37 rows (sequences span chunks), with token text and ids. */
function set(): TraceSet {
  const chunks = [...syntheticChunks(opts, 37)].map((c) => ({
    ...c,
    tokenText: Array.from(c.pos, (p, i) => `s${c.seq[i]}p${p}`),
    tokenId: Int32Array.from(c.pos, (p, i) => c.seq[i] * 1000 + p),
  }));
  return { manifest: { ...syntheticManifest(opts), hasTokenText: true, hasTokenIds: true }, chunks };
}

/** Every kept token as plain rows, by a straightforward walk. */
function rowsOf(s: TraceSet, keep: number[] | null) {
  const L = s.manifest.numLayers;
  const K = s.manifest.topK;
  const rows: { seq: number; pos: number; text: string; id: number; experts: number[]; weights: number[] }[] = [];
  for (const c of s.chunks)
    for (let t = 0; t < c.tokens; t++)
      if (!keep || keep.includes(c.dataset[t]))
        rows.push({
          seq: c.seq[t],
          pos: c.pos[t],
          text: c.tokenText![t],
          id: c.tokenId![t],
          experts: Array.from(c.experts.subarray(t * L * K, (t + 1) * L * K)),
          weights: Array.from(c.weights!.subarray(t * L * K, (t + 1) * L * K)),
        });
  return rows;
}

function windowRows(w: ReturnType<typeof tokenWindow>, LK: number) {
  return Array.from(w.seq, (seq, r) => ({
    seq,
    pos: w.pos[r],
    text: w.text![r],
    id: w.tokenId![r],
    experts: Array.from(w.experts.subarray(r * LK, (r + 1) * LK)),
    weights: Array.from(w.weights!.subarray(r * LK, (r + 1) * LK)),
  }));
}

describe('token windows', () => {
  const s = set();
  const LK = opts.numLayers * opts.topK;

  it('indexes the sequences a dataset filter keeps, across chunk boundaries', () => {
    const all = indexSequences(s, null);
    expect(all.sequences.map((q) => q.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(all.tokens).toBe(opts.tokens);
    expect(all.sequences[0].runs.length).toBeGreaterThan(1);
    const b = indexSequences(s, [1]);
    expect(b.sequences.map((q) => q.seq)).toEqual([1, 4, 7, 10]);
    expect(b.sequences.every((q) => q.dataset === 1)).toBe(true);
    expect(b.tokens).toBe(rowsOf(s, [1]).length);
  });

  it('returns exactly the rows asked for, in one sequence or over every kept token', () => {
    const rnd = createRng(7);
    for (const keep of [null, [0, 2], [1]]) {
      const index = indexSequences(s, keep);
      const rows = rowsOf(s, keep);
      for (let trial = 0; trial < 40; trial++) {
        const start = Math.floor(rnd() * rows.length);
        const count = 1 + Math.floor(rnd() * 120);
        const w = tokenWindow(s, index, { sequence: null, start, count });
        expect(w.start).toBe(start);
        expect(windowRows(w, LK)).toEqual(rows.slice(start, start + count));
        const q = Math.floor(rnd() * index.sequences.length);
        const inSeq = rows.filter((r) => r.seq === index.sequences[q].seq);
        const from = Math.floor(rnd() * inSeq.length);
        const ws = tokenWindow(s, index, { sequence: q, start: from, count });
        expect(ws.sequence).toMatchObject({ index: q, seq: index.sequences[q].seq, tokens: inSeq.length });
        expect(ws.rows).toBe(inSeq.length);
        expect(windowRows(ws, LK)).toEqual(inSeq.slice(from, from + count));
      }
    }
  });

  it('clamps requests out of range instead of failing, and never returns more than the window cap', () => {
    const index = indexSequences(s, null);
    const last = tokenWindow(s, index, { sequence: 99, start: 1e9, count: 10 });
    expect(last.sequence?.index).toBe(11);
    expect(last.start).toBe(last.rows - 1);
    expect(last.seq.length).toBe(1);
    const neg = tokenWindow(s, index, { sequence: -3, start: -5, count: Number.NaN });
    expect(neg.sequence?.index).toBe(0);
    expect(neg.start).toBe(0);
    expect(neg.seq.length).toBe(0);
    const big = tokenWindow(s, index, { sequence: null, start: 0, count: 1e9 });
    expect(big.seq.length).toBe(Math.min(MAX_TOKEN_WINDOW, opts.tokens));
    const none = tokenWindow(s, indexSequences(s, [5]), { sequence: 0, start: 0, count: 10 });
    expect(none).toMatchObject({ sequences: 0, sequence: null, rows: 0 });
    expect(none.seq.length).toBe(0);
  });

  it('leaves text, ids and weights out when the trace has none', () => {
    const plain: TraceSet = {
      manifest: { ...syntheticManifest({ ...opts, withWeights: false }) },
      chunks: [...syntheticChunks({ ...opts, withWeights: false }, 100)],
    };
    const w = tokenWindow(plain, indexSequences(plain, null), { sequence: 0, start: 0, count: 5 });
    expect(w.text).toBeNull();
    expect(w.tokenId).toBeNull();
    expect(w.weights).toBeNull();
    expect(w.experts.length).toBe(5 * LK);
  });
});
