import { describe, expect, it } from 'vitest';
import { defaultSpec, experimentSpecSchema } from '../experiment/spec';
import type { PredictorResult } from '../predictors/evaluate';
import { compareRuns, specDifferences, stepsOf } from './compare';
import { alignByEpoch, ema, meanOf, minMaxBand } from './curves';
import { parseRunFile, runFileText, type RunRecord } from './record';

describe('ema', () => {
  it('is the identity at weight 0 and debiased otherwise', () => {
    expect(ema([0.2, 0.4, 0.6], 0)).toEqual([0.2, 0.4, 0.6]);
    const s = ema([1, 0, 0], 0.5) as number[];
    // acc: 0.5, 0.25, 0.125; debias 1-0.5^n: 0.5, 0.75, 0.875.
    expect(s[0]).toBeCloseTo(1);
    expect(s[1]).toBeCloseTo(0.25 / 0.75);
    expect(s[2]).toBeCloseTo(0.125 / 0.875);
    // A constant series stays constant at any weight.
    for (const v of ema([0.3, 0.3, 0.3, 0.3], 0.9)) expect(v).toBeCloseTo(0.3);
  });
  it('keeps gaps and skips them', () => {
    const s = ema([1, null, 0], 0.5);
    expect(s[1]).toBeNull();
    expect(s[2]).toBeCloseTo(0.25 / 0.75);
  });
  it('refuses a weight outside [0, 1)', () => {
    expect(() => ema([1], 1)).toThrow(/\[0, 1\)/);
    expect(() => ema([1], -0.1)).toThrow();
  });
});

describe('alignByEpoch and minMaxBand', () => {
  it('aligns curves of different lengths and takes the band over what exists', () => {
    const a = alignByEpoch([
      { epochs: [1, 2, 3], values: [0.1, 0.2, 0.3] },
      { epochs: [2, 1], values: [0.5, 0.05] },
    ]);
    expect(a.epochs).toEqual([1, 2, 3]);
    expect(a.values).toEqual([
      [0.1, 0.2, 0.3],
      [0.05, 0.5, null],
    ]);
    expect(minMaxBand(a.values)).toEqual({ min: [0.05, 0.2, 0.3], max: [0.1, 0.5, 0.3] });
    expect(minMaxBand([[null], [null]])).toEqual({ min: [null], max: [null] });
    expect(minMaxBand([])).toEqual({ min: [], max: [] });
  });
  it('meanOf averages the horizon steps', () => {
    expect(meanOf([0.2, 0.4])).toBeCloseTo(0.3);
    expect(meanOf(null)).toBeNull();
  });
});

const result = (recall: number[]): PredictorResult => ({
  kind: 'learned',
  recallAtK: recall,
  exact: recall.map((r) => r / 2),
  top1: recall,
  top3: recall,
  top5: recall,
  coverage: recall.map(() => [{ threshold: 0, coverage: 1, precision: recall[0] }]),
  samples: 100,
});

function record(id: string, recall: number[], overrides: Record<string, unknown> = {}): RunRecord {
  const spec = experimentSpecSchema.parse({ ...defaultSpec(), ...overrides });
  return {
    id,
    name: `run ${id}`,
    note: '',
    createdAt: 1_700_000_000_000,
    finishedAt: 1_700_000_100_000,
    status: 'done',
    spec,
    trace: { model: 'demo', tokens: 1964, layers: 8, experts: 8, topK: 2 },
    backend: 'cpu',
    epochs: [{ epoch: 1, step: 10, lr: 1e-3, trainLoss: 0.5, trainRecall: recall, valLoss: null, valRecall: null, seconds: 1.5, samplesPerSecond: 40 }],
    results: { interlayer: result(recall), random: { ...result([0.25, 0.25]), kind: 'baseline' } },
    split: { trainSequences: 8, testSequences: 2, trainTokens: 1500, testTokens: 464 },
    error: null,
  };
}

describe('compareRuns', () => {
  it('gives every metric per step with its difference from the pinned run, and the changed settings', () => {
    const base = record('a', [0.5, 0.4]);
    const other = record('b', [0.6, 0.3], { seed: 3 });
    const rows = compareRuns([base, other], 'a', 'interlayer');
    expect(stepsOf([base, other], 'interlayer')).toBe(2);
    expect(rows[0].isBaseline).toBe(true);
    expect(rows[0].cells.every((c) => c.delta === 0)).toBe(true);
    const recall2 = rows[1].cells.find((c) => c.metric === 'recallAtK' && c.step === 2)!;
    expect(recall2.value).toBeCloseTo(0.3);
    expect(recall2.delta).toBeCloseTo(-0.1);
    expect(rows[1].changed).toEqual([{ key: 'seed', value: '3', baseline: '0' }]);
    // No pinned run: values only.
    expect(compareRuns([base, other], null, 'interlayer')[1].cells.every((c) => c.delta === null)).toBe(true);
    // A run without the predictor has empty cells, not zeros.
    const missing = compareRuns([base, { ...other, results: {} }], 'a', 'interlayer')[1];
    expect(missing.cells.every((c) => c.value === null && c.delta === null)).toBe(true);
  });
  it('ignores the view when listing differences', () => {
    const a = defaultSpec();
    const b = experimentSpecSchema.parse({ ...a, view: { panel: 'training', layer: 3 }, task: { ...a.task, horizon: 3 } });
    expect(specDifferences(b, a)).toEqual([{ key: 'hor', value: '3', baseline: '2' }]);
  });
});

describe('run files', () => {
  it('round-trip runs', () => {
    const runs = [record('a', [0.5, 0.4]), record('b', [0.6, 0.3], { seed: 3, trace: 'https://example.org/set' })];
    const r = parseRunFile(runFileText(runs));
    expect(r).toEqual({ ok: true, runs });
  });
  it('refuse what is not a valid run file, naming the problem', () => {
    const good = JSON.parse(runFileText([record('a', [0.5])])) as { runs: Record<string, unknown>[] };
    const bad = (mutate: (f: typeof good) => void) => {
      const f = structuredClone(good);
      mutate(f);
      return parseRunFile(JSON.stringify(f), 'runs.json');
    };
    expect(parseRunFile('{nope', 'x.json')).toMatchObject({ ok: false, message: expect.stringMatching(/^x\.json: not JSON/) });
    expect(parseRunFile('{"a":1}')).toMatchObject({ ok: false, message: expect.stringMatching(/not a SpecLab run file/) });
    expect(bad((f) => ((f as Record<string, unknown>).version = 9))).toMatchObject({ ok: false, message: expect.stringMatching(/version 9 is not supported/) });
    expect(bad((f) => (((f.runs[0].spec as Record<string, unknown>).seed = -1)))).toMatchObject({ ok: false, message: expect.stringMatching(/runs\.0\.spec\.seed/) });
    expect(bad((f) => (((f.runs[0].spec as Record<string, unknown>).trace = 'javascript:alert(1)')))).toMatchObject({ ok: false, message: expect.stringMatching(/runs\.0\.spec\.trace/) });
    expect(bad((f) => ((f.runs[0].__proto__x = 1)))).toMatchObject({ ok: false, message: expect.stringMatching(/runs\.0/) });
    expect(bad((f) => ((f.runs[0].name = 'x'.repeat(201))))).toMatchObject({ ok: false, message: expect.stringMatching(/runs\.0\.name/) });
    expect(bad((f) => (f.runs = []))).toMatchObject({ ok: false });
  });
});
