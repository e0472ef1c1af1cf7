import { describe, expect, it } from 'vitest';
import { readReal } from '../trace/importers/test-helpers';
import { importJsonl } from '../trace/importers';
import { splitBySequence } from '../tasks/task';
import { syntheticTrace } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import { BASELINES, frequencyPredictor, markovPredictor, randomPredictor, temporalPredictor } from './baselines';
import { evaluate } from './evaluate';
import { topIndices } from '../metrics/ranking';

/** A trace of 3 layers, 4 experts, top-1 from explicit per-token routes; one sequence per array. */
function trace(seqs: number[][][]): TraceSet {
  const flat = seqs.flat();
  const set = syntheticTrace({ tokens: flat.length, numLayers: 3, numExperts: 4, topK: 1, withWeights: false });
  const c = set.chunks[0];
  let t = 0;
  seqs.forEach((s, si) =>
    s.forEach((route, p) => {
      c.seq[t] = si;
      c.pos[t] = p;
      route.forEach((e, l) => (c.experts[t * 3 + l] = e));
      t++;
    }),
  );
  return set;
}

const task1 = { context: 1, horizon: 1 };

describe('baselines on hand-made traces', () => {
  const train = trace([
    [
      [0, 1, 2],
      [0, 1, 2],
      [1, 2, 3],
      [3, 3, 3],
    ],
  ]);

  it('frequency predicts the target layer’s most used expert', async () => {
    const test = trace([[[3, 0, 0]]]);
    const r = await evaluate([frequencyPredictor(train.manifest, 0)], train, test, { context: 1, horizon: 2 });
    // Layer 1: expert 1 used twice -> wrong (truth 0). Layer 2: expert 2 twice -> wrong (truth 0).
    expect(r.frequency.recallAtK).toEqual([0, 0]);
    expect(r.frequency.samples).toBe(1);
    // Layer 1 counts {1:2, 2:1, 3:1, 0:0}: truth 0 ranks 4th. Layer 2 counts {2:2, 3:2, 0:0, 1:0}: 0 ranks
    // 3rd (zero-count tie goes to the lower id).
    expect(r.frequency.top3).toEqual([0, 1]);
    expect(r.frequency.top5).toEqual([1, 1]);
  });

  it('markov follows the layer-to-layer counts and breaks ties by frequency', async () => {
    // At layer 0 expert 0 was followed by 1 twice; expert 3 by 3.
    const test = trace([[[0, 1, 2]], [[3, 3, 3]], [[2, 1, 0]]]);
    const r = await evaluate([markovPredictor(train.manifest, 0)], train, test, task1);
    // Windows at l=0 (->1) and l=1 (->2) for each of 3 tokens. Token 3 starts with unseen 2: falls back to
    // frequency (layer 1: expert 1; correct), then 1 -> 2 at layer 2 (wrong, truth 0).
    expect(r.markov.samples).toBe(6);
    expect(r.markov.recallAtK[0]).toBeCloseTo(5 / 6, 12);
  });

  it('temporal repeats the previous token and uses frequency for a sequence’s first token', async () => {
    const test = trace([
      [
        [0, 3, 2],
        [1, 3, 0],
      ],
    ]);
    const r = await evaluate([temporalPredictor(train.manifest, 0)], train, test, task1);
    // Token 0: frequency -> layer 1: 1 (truth 3, miss), layer 2: 2 (truth 2, hit).
    // Token 1: previous token -> layer 1: 3 (hit), layer 2: 2 (truth 0, miss).
    expect(r.temporal.recallAtK).toEqual([0.5]);
    expect(r.temporal.samples).toBe(4);
  });

  it('random is deterministic for a seed and near chance on many samples', async () => {
    const set = syntheticTrace({ tokens: 4000, numLayers: 6, numExperts: 8, topK: 2, seed: 5 });
    const a = await evaluate([randomPredictor(set.manifest, 42)], set, set, { context: 3, horizon: 2 });
    const b = await evaluate([randomPredictor(set.manifest, 42)], set, set, { context: 3, horizon: 2 });
    const c = await evaluate([randomPredictor(set.manifest, 43)], set, set, { context: 3, horizon: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const v of a.random.recallAtK) expect(Math.abs(v - 2 / 8)).toBeLessThan(0.01);
  });

  it('rejects a task that does not fit the trace', async () => {
    await expect(evaluate([frequencyPredictor(train.manifest, 0)], train, train, { context: 3, horizon: 1 })).rejects.toThrow(
      /need more than the trace's 3 MoE layers/,
    );
  });
});

describe('ranking', () => {
  it('orders by score, ties to the lower id', () => {
    expect(Array.from(topIndices([0.5, 2, 2, 1, 3], 3))).toEqual([4, 1, 2]);
    expect(Array.from(topIndices([1, 1, 1, 1], 2))).toEqual([0, 1]);
  });
});

describe('baselines on the real Mixtral-8x7B trace', () => {
  it('orders as expected: every informed baseline beats chance, and splits are by sequence', async () => {
    const set = importJsonl([{ name: 'r.jsonl', text: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set;
    const { train, test } = splitBySequence(set, 0.5, 3);
    const trainSeqs = new Set(train.chunks.flatMap((c) => Array.from(c.seq)));
    for (const c of test.chunks) for (const s of c.seq) expect(trainSeqs.has(s)).toBe(false);
    const r = await evaluate(
      Object.values(BASELINES).map((f) => f(set.manifest, 1)),
      train,
      test,
      { context: 3, horizon: 2 },
    );
    expect(r.random.recallAtK[0]).toBeGreaterThan(0.2);
    expect(r.random.recallAtK[0]).toBeLessThan(0.3);
    for (const name of ['frequency', 'markov', 'temporal']) {
      expect(r[name].kind).toBe('baseline');
      expect(r[name].recallAtK[0]).toBeGreaterThan(r.random.recallAtK[0]);
      expect(r[name].top5[0]).toBeGreaterThanOrEqual(r[name].top3[0]);
      expect(r[name].top3[0]).toBeGreaterThanOrEqual(r[name].top1[0]);
    }
  });
});
