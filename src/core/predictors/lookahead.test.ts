// The lookahead gate baseline on the demo set (which the collector wrote with lookahead_logits, horizon 2).
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { dirSource } from '../../cli/fsTrace';
import { DEFAULT_TASK, splitBySequence, type TaskSpec } from '../tasks/task';
import { readTraceSet } from '../trace/read';
import { syntheticTrace } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import { frequencyPredictor, markovPredictor } from './baselines';
import { scorePredictor } from './evaluate';
import { LOOKAHEAD, lookaheadByDistance, lookaheadPredictor, lookaheadProblem } from './lookahead';
import { BASELINE_NAMES, baselineProblem, makeBaseline, offeredBaselines } from './registry';

const DEMO = fileURLToPath(new URL('../../../traces/demo/', import.meta.url));
const task: TaskSpec = { ...DEFAULT_TASK, context: 3, horizon: 2 };

let demo: TraceSet;
let train: TraceSet;
let test: TraceSet;

/** The set without its lookahead column (as a trace collected without --lookahead). */
const withoutLookahead = (s: TraceSet): TraceSet => ({
  manifest: { ...s.manifest, lookaheadHorizon: undefined },
  chunks: s.chunks.map((c) => ({ ...c, lookahead: undefined })),
});

/**
 * recall@k of the top-k of the lookahead logits, step by step, computed here from the raw column (not through the
 * predictor or the metrics code): windows are (token, l) with C-1 ≤ l ≤ L-1-H.
 */
function directRecall(set: TraceSet, t: TaskSpec): number[] {
  const { numLayers: L, numExperts: E, topK: K } = set.manifest;
  const H = set.manifest.lookaheadHorizon!;
  const sums = new Array<number>(t.horizon).fill(0);
  let windows = 0;
  for (const c of set.chunks)
    for (let r = 0; r < c.tokens; r++)
      for (let l = t.context - 1; l <= L - 1 - t.horizon; l++) {
        windows++;
        for (let h = 1; h <= t.horizon; h++) {
          const o = ((r * L + l) * H + h - 1) * E;
          const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => c.lookahead![o + b] - c.lookahead![o + a] || a - b);
          const truth = new Set(Array.from(c.experts.subarray((r * L + l + h) * K, (r * L + l + h + 1) * K)));
          sums[h - 1] += order.slice(0, K).filter((e) => truth.has(e)).length / K;
        }
      }
  return sums.map((s) => s / windows);
}

beforeAll(async () => {
  demo = await readTraceSet(dirSource(DEMO));
  ({ train, test } = splitBySequence(demo, 0.3, 0));
});

describe('lookahead predictor', () => {
  it('scores the top-k of layer l’s lookahead gate for step h: the recall of a direct top-k of the logits', () => {
    const p = lookaheadPredictor(test.manifest);
    p.fit(train, task);
    p.prepare(test, task);
    const r = scorePredictor(p, test, task);
    const direct = directRecall(test, task);
    expect(r.recallAtK).toHaveLength(2);
    for (let h = 0; h < 2; h++) expect(r.recallAtK[h]).toBeCloseTo(direct[h], 12);
    expect(r.kind).toBe('baseline');
  });

  it('is clearly above the frequency and Markov baselines on the demo set', () => {
    const p = lookaheadPredictor(test.manifest);
    p.prepare(test, task);
    const la = scorePredictor(p, test, task).recallAtK;
    for (const make of [frequencyPredictor, markovPredictor]) {
      const b = make(test.manifest, 0);
      b.fit(train, task);
      const r = scorePredictor(b, test, task).recallAtK;
      for (let h = 0; h < 2; h++) expect(la[h]).toBeGreaterThan(r[h] + 0.1);
    }
  });

  it('reads the row of the window’s token, across chunks and in any order', () => {
    const p = lookaheadPredictor(test.manifest);
    p.prepare(test, task);
    const { numLayers: L, numExperts: E } = test.manifest;
    const out = new Float64Array(E);
    const rows: [chunk: number, row: number, global: number][] = [];
    let g = 0;
    test.chunks.forEach((c, i) => {
      rows.push([i, 0, g], [i, c.tokens - 1, g + c.tokens - 1]);
      g += c.tokens;
    });
    for (const [ci, r, global] of rows.reverse()) {
      p.score({ token: new Int16Array(0), prev: null, layer: 3, ahead: 0, row: global }, 5, out);
      const o = ((r * L + 3) * 2 + 1) * E;
      expect(Array.from(out)).toEqual(Array.from(test.chunks[ci].lookahead!.subarray(o, o + E)));
    }
  });

  it('is not offered, with the reason, where the trace has no lookahead gate or not far enough', () => {
    const bare = withoutLookahead(test);
    expect(lookaheadProblem(bare, task)).toMatch(/^the trace has no lookahead gate logits \(no "lookahead_logits" column, no manifest lookaheadHorizon\)/);
    expect(() => lookaheadPredictor(bare.manifest).prepare(bare, task)).toThrow(/^lookahead: the trace has no lookahead gate logits/);
    const far = { ...task, context: 2, horizon: 3 };
    expect(() => lookaheadPredictor(test.manifest).prepare(test, far)).toThrow(
      'lookahead: the trace records the lookahead gate 2 layers ahead (manifest lookaheadHorizon 2); horizon 3 needs 3',
    );
    expect(lookaheadProblem(test, { ...task, kind: 'tokens' } as TaskSpec)).toMatch(/nothing for the next-tokens task/);
  });

  it('refuses windows whose gate is NaN (layer l+h in another stack) and scoring before prepare', () => {
    const c = test.chunks[0];
    const { numLayers: L, numExperts: E } = test.manifest;
    const la = c.lookahead!.slice();
    la.fill(NaN, ((5 * L + 2) * 2 + 0) * E, ((5 * L + 2) * 2 + 1) * E);
    const set = { manifest: test.manifest, chunks: [{ ...c, lookahead: la }, ...test.chunks.slice(1)] };
    expect(lookaheadProblem(set, task)).toBe('the trace: token 5 has no lookahead gate from layer 2 to layer 3 (NaN: the layers belong to different stacks)');
    const p = lookaheadPredictor(test.manifest);
    expect(() => p.score({ token: new Int16Array(0), prev: null, layer: 2, ahead: 0, row: 0 }, 3, new Float64Array(E))).toThrow(/was not prepared/);
  });
});

describe('the baselines offered', () => {
  it('include the lookahead gate only where both sets carry it for the task', () => {
    expect(BASELINE_NAMES).toContain(LOOKAHEAD);
    expect(offeredBaselines(train, test, task, 0).map((p) => p.name)).toEqual(['random', 'frequency', 'markov', 'temporal', 'lookahead']);
    expect(offeredBaselines(withoutLookahead(train), withoutLookahead(test), task, 0).map((p) => p.name)).toEqual([
      'random',
      'frequency',
      'markov',
      'temporal',
    ]);
    expect(baselineProblem(LOOKAHEAD, withoutLookahead(demo), test, task)).toMatch(/^the training set has no lookahead gate logits/);
    expect(baselineProblem(LOOKAHEAD, train, withoutLookahead(demo), task)).toMatch(/^the test set has no lookahead gate logits/);
    const s = syntheticTrace({ tokens: 20, numLayers: 6, numExperts: 8, topK: 2, withWeights: false });
    expect(baselineProblem('markov', s, s, task)).toBeUndefined();
    expect(makeBaseline('markov', s.manifest, 0).name).toBe('markov');
    expect(() => makeBaseline('oracle', s.manifest, 0)).toThrow(/unknown baseline "oracle" \(known: random, frequency, markov, temporal, lookahead\)/);
  });
});

describe('recall by distance', () => {
  it('is the per-step recall of the lookahead predictor with the trace’s horizon, 1..H layers ahead', () => {
    const curve = lookaheadByDistance(test, { ...task, horizon: 1 })!;
    expect(curve.distance).toEqual([1, 2]);
    const direct = directRecall(test, task);
    for (let h = 0; h < 2; h++) expect(curve.recallAtK[h]).toBeCloseTo(direct[h], 12);
    // Same windows at every distance: C-1 ≤ l ≤ L-1-H.
    expect(curve.samples).toBe(test.chunks.reduce((n, c) => n + c.tokens, 0) * 2);
    // Farther is harder.
    expect(curve.recallAtK[0]).toBeGreaterThan(curve.recallAtK[1]);
  });

  it('is as long as the layers after the context allow, and null without a gate', () => {
    const c = lookaheadByDistance(test, { ...task, context: 5, horizon: 1 })!;
    expect(c.distance).toEqual([1]);
    expect(lookaheadByDistance(withoutLookahead(test), task)).toBeNull();
  });
});

describe('scoreBaselines (the page’s run)', () => {
  it('scores every offered baseline, the gate prepared on the test set, with its curve', async () => {
    const { scoreBaselines } = await import('./registry');
    const r = await scoreBaselines(train, test, task, 0);
    expect(Object.keys(r.results)).toEqual(['random', 'frequency', 'markov', 'temporal', 'lookahead']);
    for (let h = 0; h < 2; h++) expect(r.results.lookahead.recallAtK[h]).toBeCloseTo(directRecall(test, task)[h], 12);
    expect(r.lookaheadByDistance!.distance).toEqual([1, 2]);
    const bare = await scoreBaselines(withoutLookahead(train), withoutLookahead(test), task, 0);
    expect(Object.keys(bare.results)).toEqual(['random', 'frequency', 'markov', 'temporal']);
    expect(bare.lookaheadByDistance).toBeUndefined();
  });
});
