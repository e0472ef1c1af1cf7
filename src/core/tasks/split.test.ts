import { describe, expect, it } from 'vitest';
import { filterDatasets } from '../experiment/datasets';
import { rechunk } from '../trace/chunk';
import { syntheticTrace } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import { sampleSequences, splitBySequence, windowsPerToken } from './task';
import { importJsonl } from '../trace/importers';
import { readReal } from '../trace/importers/test-helpers';
import { createRng } from '../experiment/rng';
import { describeSplit, splitForRun } from './split';

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

describe('a split by sequence puts a sequence in each part (issue 17)', () => {
  const mixtral = importJsonl([{ name: 'r.jsonl', text: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set;

  it("the shared Mixtral trace (2 sequences) splits at the README's test fraction 0.2 and seed 0, and says it moved one", () => {
    const a = splitBySequence(mixtral, 0.2, 0);
    expect(seqs(a.train)).toHaveLength(1);
    expect(seqs(a.test)).toHaveLength(1);
    expect(a.split).toEqual({ trainSequences: 1, testSequences: 1, trainTokens: 78, testTokens: 166, moved: { sequence: 0, to: 'test' } });
    expect(describeSplit(a.split, { testFraction: 0.2, seed: 0 })).toMatch(/left the test part empty, so sequence 0 was moved there/);
    // The same for the same seed.
    expect(rows(splitBySequence(mixtral, 0.2, 0).test)).toEqual(rows(a.test));
  });

  it('every seed and fraction gives two non-empty parts that hold every row once; the draw is kept when it is not empty', () => {
    const rnd = createRng(17);
    for (let i = 0; i < 40; i++) {
      const n = 2 + Math.floor(rnd() * 6);
      const b = syntheticTrace({ tokens: n * 5, numLayers: 2, numExperts: 4, topK: 1, seqLen: 5, seed: i });
      const f = 0.01 + rnd() * 0.98;
      const seed = Math.floor(rnd() * 1000);
      const { train, test, split } = splitBySequence(b, f, seed);
      expect(seqs(train).length, `n=${n} f=${f} seed=${seed}`).toBeGreaterThan(0);
      expect(seqs(test).length).toBeGreaterThan(0);
      expect(split.trainSequences + split.testSequences).toBe(n);
      expect(split.trainTokens + split.testTokens).toBe(n * 5);
      const rowsOf = (x: TraceSet) => x.chunks.flatMap((c) => [...c.seq].map((q, t) => `${q}/${c.pos[t]}/${c.experts[t * 2]}/${c.experts[t * 2 + 1]}`));
      expect([...rowsOf(train), ...rowsOf(test)].sort()).toEqual(rowsOf(b).sort());
      // The per-sequence draw (one number per sequence, in order), unless it left a part empty.
      const r = createRng(seed);
      const drawn = Array.from({ length: n }, () => r() < f);
      const empty = drawn.every(Boolean) || !drawn.some(Boolean);
      expect(Boolean(split.moved)).toBe(empty);
      if (!empty) expect(seqs(test)).toEqual(drawn.flatMap((d, s) => (d ? [s] : [])));
    }
  });

  it('a trace of one sequence, or a fraction outside (0, 1), cannot be split', () => {
    const one = syntheticTrace({ tokens: 20, numLayers: 2, numExperts: 4, topK: 1, seqLen: 100 });
    expect(() => splitBySequence(one, 0.5, 0)).toThrow(/a trace of 1 sequence .* needs 2 sequences at least/);
    for (const f of [0, 1, 1.5, NaN]) expect(() => splitBySequence(mixtral, f, 0)).toThrow(/between 0 and 1/);
  });

  it('the run split (page and CLI) filters datasets, splits, and samples each part to its window cap', () => {
    const req = { datasets: ['a', 'c'], testFraction: 0.25, seed: 3, task: { context: 1, horizon: 1 } };
    const whole = splitBySequence(filterDatasets(set, [0, 2]), 0.25, 3);
    const uncapped = splitForRun(set, req, { train: Infinity, test: Infinity });
    expect(rows(uncapped.train)).toEqual(rows(whole.train));
    expect(rows(uncapped.test)).toEqual(rows(whole.test));
    expect(uncapped.split).toEqual(whole.split);
    // 4 layers, C1 H1: 3 windows per token; caps of 6000 and 1500 windows sample whole sequences to 2000 and 500 tokens.
    const capped = splitForRun(set, req, { train: 6000, test: 1500 });
    expect(capped.split.sampledFrom).toEqual({ trainTokens: whole.split.trainTokens, testTokens: whole.split.testTokens });
    expect(rows(capped.train)).toEqual(rows(sampleSequences(whole.train, 2000, 3).set));
    expect(rows(capped.test)).toEqual(rows(sampleSequences(whole.test, 500, 4).set));
    expect(capped.split.testTokens).toBeLessThan(whole.split.testTokens);
    expect(() => splitForRun(set, { ...req, datasets: ['zzz'] })).toThrow(/none of the datasets zzz/);
  });
});
