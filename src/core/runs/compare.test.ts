import { describe, expect, it } from 'vitest';
import { defaultSpec, experimentSpecSchema } from '../experiment/spec';
import { compareRuns, specDifferences, stepsOf } from './compare';
import { record } from './test-helpers';

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
