import { describe, expect, it } from 'vitest';
import { rechunk } from '../trace/chunk';
import { importJsonl } from '../trace/importers';
import { readReal } from '../trace/importers/test-helpers';
import { syntheticTrace } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import type { AnalysisCounts } from './analyzer';
import { addCounts, analyzePart, keptTokens, planParts, seedRow } from './parts';
import { analyze } from './stats';

const mixtral = importJsonl([{ name: 'gsm8k_2_routing.jsonl', text: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set;
const shardsOf = (set: TraceSet, n: number): TraceSet => ({ manifest: set.manifest, chunks: rechunk(set, n) });

/** Every count as plain numbers, to compare exactly. */
const plain = (c: AnalysisCounts) => ({
  tokens: c.tokens,
  sequences: c.sequences,
  consecutivePairs: c.consecutivePairs,
  selections: [...c.selections],
  coactivation: [...c.coactivation],
  transitions: [...c.transitions],
  reuseFirst: [...c.reuseFirst],
  reuseAny: [...c.reuseAny],
});

function byParts(set: TraceSet, parts: number, datasets?: Set<number>, directCounts = false): AnalysisCounts {
  const shape = set.manifest;
  const plan = planParts(set.chunks, parts, datasets);
  const counts = plan.map((p) =>
    analyzePart(
      shape,
      { datasets, directCounts },
      p.chunks.map((i) => set.chunks[i]),
      p.seed && seedRow(set.chunks[p.seed.chunk], p.seed.row, shape),
    ),
  );
  return counts.reduce((a, b) => addCounts(a, b));
}

describe('analyses over parts of a multi-shard set', () => {
  const cases: [string, TraceSet, Set<number> | undefined][] = [
    ['real Mixtral-8x7B, 9 shards', shardsOf(mixtral, 900), undefined],
    [
      'synthetic top-2, 3 datasets, 13 shards',
      shardsOf(syntheticTrace({ tokens: 6000, numLayers: 6, numExperts: 8, topK: 2, seqLen: 230, seed: 4, datasets: ['a', 'b', 'c'], datasetSkew: true }), 470),
      undefined,
    ],
    [
      'the same, filtered to datasets a and c',
      shardsOf(syntheticTrace({ tokens: 6000, numLayers: 6, numExperts: 8, topK: 2, seqLen: 230, seed: 4, datasets: ['a', 'b', 'c'], datasetSkew: true }), 470),
      new Set([0, 2]),
    ],
    [
      'synthetic 64 experts top-6, filtered',
      shardsOf(syntheticTrace({ tokens: 3000, numLayers: 4, numExperts: 64, topK: 6, seqLen: 97, seed: 2, datasets: ['a', 'b'] }), 333),
      new Set([1]),
    ],
  ];
  for (const [name, set, datasets] of cases)
    it(`equal one pass over the whole set: ${name}`, () => {
      const whole = plain(analyze(set, { datasets }));
      expect(whole.tokens).toBeGreaterThan(0);
      for (const parts of [1, 2, 3, 5, 40]) expect(plain(byParts(set, parts, datasets)), `${parts} parts`).toEqual(whole);
    });

  it('the pair-code pass of top-2 counts what the direct pass counts', () => {
    for (const [, set, datasets] of cases.slice(0, 3)) {
      const direct = plain(analyze(set, { datasets, directCounts: true }));
      expect(plain(analyze(set, { datasets }))).toEqual(direct);
      expect(plain(byParts(set, 3, datasets, true))).toEqual(direct);
    }
  });

  it('plans contiguous parts of about equal tokens, each seeded with the last kept token before it', () => {
    const set = shardsOf(syntheticTrace({ tokens: 5000, numLayers: 3, numExperts: 8, topK: 2, seqLen: 100, datasets: ['a', 'b'] }), 500);
    const plan = planParts(set.chunks, 3, new Set([1]));
    expect(plan.flatMap((p) => p.chunks)).toEqual(set.chunks.map((_, i) => i));
    expect(plan.map((p) => p.chunks.length)).toEqual([4, 3, 3]);
    const kept = (p: { chunks: number[] }) => p.chunks.reduce((n, ci) => n + keptTokens(set.chunks[ci], new Set([1])), 0);
    expect(Math.max(...plan.map(kept)) - Math.min(...plan.map(kept))).toBeLessThanOrEqual(500);
    expect(plan[0].seed).toBeNull();
    for (const p of plan.slice(1)) {
      const { chunk, row } = p.seed!;
      expect(chunk).toBeLessThan(p.chunks[0]);
      expect(set.chunks[chunk].dataset[row]).toBe(1);
    }
  });

  it('balances parts by the tokens the filter keeps when the kept datasets are stored together', () => {
    // Ten shards, the last three of dataset 1 only: filtering to it, every part gets a share of those three.
    const set = shardsOf(syntheticTrace({ tokens: 5000, numLayers: 3, numExperts: 8, topK: 2, seqLen: 100, datasets: ['a', 'b'] }), 500);
    set.chunks.forEach((c, i) => c.dataset.fill(i >= 7 ? 1 : 0));
    const only1 = new Set([1]);
    const plan = planParts(set.chunks, 3, only1);
    expect(plan.flatMap((p) => p.chunks)).toEqual(set.chunks.map((_, i) => i));
    const kept = plan.map((p) => p.chunks.reduce((n, ci) => n + keptTokens(set.chunks[ci], only1), 0));
    expect(kept).toEqual([500, 500, 500]);
    const whole = plain(analyze(set, { datasets: only1 }));
    expect(whole.tokens).toBe(1500);
    expect(plain(byParts(set, 3, only1))).toEqual(whole);
  });
});
