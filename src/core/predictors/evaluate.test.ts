// scorePredictor (evaluate.ts): the previous token is position p-1 of the same sequence, so a gap in positions
// (dropped tokens) gives the temporal baseline nothing to go on, as `stats` counts no consecutive pair across it.
import { describe, expect, it } from 'vitest';
import { computeStats } from '../analysis/stats';
import { mixtralVariant } from './testTraces';
import type { TraceSet } from '../trace/types';
import { BASELINES } from './baselines';
import { evaluate } from './evaluate';

/** A straightforward temporal baseline: training frequency, plus K-j for the j-th expert of the token at p-1. */
function referenceTemporal(train: TraceSet, test: TraceSet, C: number, H: number): number[] {
  const { numLayers: L, numExperts: E, topK: K } = test.manifest;
  const count = Array.from({ length: L }, () => new Array<number>(E).fill(0));
  for (const c of train.chunks)
    for (let t = 0; t < c.tokens; t++) for (let l = 0; l < L; l++) for (let j = 0; j < K; j++) count[l][c.experts[(t * L + l) * K + j]]++;
  const rows = new Map<string, number[]>();
  const tokens: { seq: number; pos: number; ex: number[] }[] = [];
  for (const c of test.chunks)
    for (let t = 0; t < c.tokens; t++) {
      const ex = Array.from(c.experts.subarray(t * L * K, (t + 1) * L * K));
      rows.set(`${c.seq[t]}/${c.pos[t]}`, ex);
      tokens.push({ seq: c.seq[t], pos: c.pos[t], ex });
    }
  const sum = new Array<number>(H).fill(0);
  let n = 0;
  for (const tok of tokens) {
    const prev = rows.get(`${tok.seq}/${tok.pos - 1}`);
    for (let l = C - 1; l + H <= L - 1; l++) {
      for (let h = 1; h <= H; h++) {
        const tl = l + h;
        const max = Math.max(...count[tl]);
        const score = count[tl].map((x) => x / (max + 1));
        if (prev) for (let j = 0; j < K; j++) score[prev[tl * K + j]] += K - j;
        const ranked = score
          .map((s, e) => [s, e])
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, K)
          .map((x) => x[1]);
        const truth = tok.ex.slice(tl * K, (tl + 1) * K);
        sum[h - 1] += ranked.filter((e) => truth.includes(e)).length / K;
      }
      n++;
    }
  }
  return sum.map((s) => s / n);
}

describe('the temporal baseline uses position p-1, not the previous row', () => {
  const task = { context: 3, horizon: 2 };
  const run = async (set: TraceSet) => evaluate([BASELINES.frequency(set.manifest, 0), BASELINES.temporal(set.manifest, 0)], set, set, task);

  it('positions 0, 10, 20, ...: no previous token anywhere, so temporal scores exactly as frequency (stats: 0 pairs)', async () => {
    const spread = mixtralVariant({ spread: true });
    expect(computeStats(spread).consecutivePairs).toBe(0);
    const r = await run(spread);
    expect(r.temporal.recallAtK).toEqual(r.frequency.recallAtK);
    expect(r.temporal.exact).toEqual(r.frequency.exact);
    // The same routing at adjacent positions: the previous token changes the scores.
    const dense = await run(mixtralVariant());
    expect(dense.temporal.recallAtK[0]).not.toBeCloseTo(dense.frequency.recallAtK[0], 3);
  });

  it('tokens dropped inside a sequence: equal to the reference that looks up position p-1', async () => {
    const dropped = mixtralVariant({ drop: [50, 51, 120] });
    expect(dropped.manifest.droppedTokens).toBe(6);
    // 241 tokens in 2 sequences, broken at 49 -> 52 and 119 -> 121.
    expect(computeStats(dropped).consecutivePairs).toBe(241 - 2 - 2);
    const r = await run(dropped);
    const ref = referenceTemporal(dropped, dropped, 3, 2);
    r.temporal.recallAtK.forEach((v, h) => expect(v).toBeCloseTo(ref[h], 12));
  });
});
