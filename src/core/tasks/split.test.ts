import { describe, expect, it } from 'vitest';
import { filterDatasets } from '../experiment/datasets';
import { rechunk } from '../trace/chunk';
import { syntheticTrace } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import { sampleSequences, splitBySequence, windowsPerToken } from './task';

const base = syntheticTrace({ tokens: 20_000, numLayers: 4, numExperts: 8, topK: 2, seqLen: 137, seed: 5, datasets: ['a', 'b', 'c'] });
const set: TraceSet = { manifest: base.manifest, chunks: rechunk(base, 3000) };
const buffers = new Set(set.chunks.flatMap((c) => [c.seq.buffer, c.experts.buffer]));
const rows = (s: TraceSet) => s.chunks.flatMap((c) => [...c.seq].map((q, t) => `${q}/${c.pos[t]}/${c.experts[t * 8]}`));
const seqs = (s: TraceSet) => [...new Set(s.chunks.flatMap((c) => [...c.seq]))];

describe('splits and samples of a large set are views, not copies', () => {
  it('splitting by sequence and filtering by dataset copy no arrays and keep every row once, in order', () => {
    const filtered = filterDatasets(set, [0, 2]);
    const { train, test } = splitBySequence(filtered, 0.25, 3);
    for (const part of [filtered, train, test]) for (const c of part.chunks) expect(buffers.has(c.experts.buffer) && buffers.has(c.seq.buffer)).toBe(true);
    expect(filtered.chunks.every((c) => [...c.dataset].every((d) => d !== 1))).toBe(true);
    const all = rows(filtered);
    expect([...rows(train), ...rows(test)].sort()).toEqual([...all].sort());
    // Sequences are whole on one side.
    const testSeqs = new Set(seqs(test));
    expect(seqs(train).some((s) => testSeqs.has(s))).toBe(false);
    expect(testSeqs.size / (testSeqs.size + seqs(train).length)).toBeGreaterThan(0.1);
  });

  it('samples whole sequences to a token budget, the same for the same seed', () => {
    const budget = 4000;
    const a = sampleSequences(set, budget, 7);
    const tokens = a.set.chunks.reduce((n, c) => n + c.tokens, 0);
    expect(a.sampled).toBe(true);
    expect(tokens).toBeGreaterThan(budget / 2);
    expect(tokens).toBeLessThan(budget * 1.6);
    for (const c of a.set.chunks) expect(buffers.has(c.experts.buffer)).toBe(true);
    // Whole sequences: each kept sequence has all its 137 tokens (the last one may be shorter).
    const count = new Map<number, number>();
    for (const c of a.set.chunks) for (const s of c.seq) count.set(s, (count.get(s) ?? 0) + 1);
    const last = Math.floor((20_000 - 1) / 137);
    for (const [s, n] of count) expect(n).toBe(s === last ? 20_000 - last * 137 : 137);
    expect(rows(sampleSequences(set, budget, 7).set)).toEqual(rows(a.set));
    expect(seqs(sampleSequences(set, budget, 8).set)).not.toEqual(seqs(a.set));
    expect(sampleSequences(set, 20_000, 7)).toEqual({ set, sampled: false });
  });

  it('counts windows per token from the task', () => {
    expect(windowsPerToken(32, { context: 3, horizon: 2 })).toBe(28);
    expect(windowsPerToken(4, { context: 3, horizon: 2 })).toBe(0);
  });
});
