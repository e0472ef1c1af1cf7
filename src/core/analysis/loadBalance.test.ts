import { describe, expect, it } from 'vitest';
import { importJsonl } from '../trace/importers';
import { readReal } from '../trace/importers/test-helpers';
import { computeStats, loadBalance } from './stats';

describe('loadBalance', () => {
  it('known loads: even, one expert, and a worked example', () => {
    // Layer 0 even over 4; layer 1 all on expert 2; layer 2 loads 6, 2, 0, 0.
    const lb = loadBalance([5, 5, 5, 5, 0, 0, 9, 0, 6, 2, 0, 0], 3, 4);
    expect(lb.maxShare).toEqual([0.25, 1, 0.75]);
    expect(lb.activeFraction).toEqual([1, 0.25, 0.5]);
    // Layer 2: mean 2, deviations 4, 0, -2, -2 → variance 24/4 = 6 → cv = sqrt(6)/2.
    expect(lb.cv[0]).toBe(0);
    expect(lb.cv[1]).toBeCloseTo(Math.sqrt(3), 12); // mean 2.25, sd = 2.25*sqrt(3)
    expect(lb.cv[2]).toBeCloseTo(Math.sqrt(6) / 2, 12);
    // H(0.75, 0.25) = 0.8113 bits, over log2(4) = 2.
    expect(lb.normalizedEntropy[0]).toBe(1);
    expect(lb.normalizedEntropy[1]).toBe(0);
    expect(lb.normalizedEntropy[2]).toBeCloseTo((-(0.75 * Math.log2(0.75)) - 0.25 * Math.log2(0.25)) / 2, 12);
  });

  it('on the real Mixtral trace agrees with the utilisation it is derived from', () => {
    const s = computeStats(importJsonl([{ name: 'g.jsonl', text: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set);
    expect(s.loadBalance.maxShare).toHaveLength(32);
    s.utilisation.forEach((u, l) => {
      expect(s.loadBalance.maxShare[l]).toBeCloseTo(Math.max(...u), 12);
      expect(s.loadBalance.activeFraction[l]).toBe(u.filter((x) => x > 0).length / 8);
      expect(s.loadBalance.normalizedEntropy[l]).toBeCloseTo(s.entropyBits[l] / 3, 12);
      const mean = 1 / 8;
      expect(s.loadBalance.cv[l]).toBeCloseTo(Math.sqrt(u.reduce((a, x) => a + (x - mean) ** 2, 0) / 8) / mean, 10);
    });
    // Real routing is uneven somewhere: not every layer is perfectly balanced.
    expect(Math.max(...s.loadBalance.maxShare)).toBeGreaterThan(0.2);
  });
});
