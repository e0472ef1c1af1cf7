import { describe, expect, it } from 'vitest';
import { alignByEpoch, ema, meanOf, minMaxBand } from './curves';

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
