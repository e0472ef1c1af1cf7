import { describe, expect, it } from 'vitest';
import { clampedLog2, clampRange, factorLabel, ratioSpan, utilisationBars, zoomRange } from './utilisation';

describe('utilisation against uniform use', () => {
  const shares = [0.5, 0.125, 0.25, 0, 0.125, 0, 0, 0];

  it('measures each expert against 1/E and sorts busiest first, ties by id', () => {
    const byId = utilisationBars(shares, 'expert');
    expect(byId.map((b) => b.expert)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(byId[0].ratio).toBe(4);
    expect(byId[1].ratio).toBe(1);
    const byShare = utilisationBars(shares, 'share');
    expect(byShare.map((b) => b.expert)).toEqual([0, 2, 1, 4, 3, 5, 6, 7]);
  });

  it('centres the scale on uniform: a whole factor of 2 each way, unused experts at the bottom', () => {
    const bars = utilisationBars(shares, 'expert');
    expect(ratioSpan(bars)).toBe(2);
    expect(ratioSpan(bars.slice(1, 2))).toBe(1);
    expect(ratioSpan(utilisationBars([0.3, 0.7], 'expert'))).toBe(1);
    expect(ratioSpan(utilisationBars([0, 0], 'expert'))).toBe(1);
    expect(clampedLog2(0, 2)).toBe(-2);
    expect(clampedLog2(4, 2)).toBe(2);
    expect(clampedLog2(16, 2)).toBe(2);
    expect(clampedLog2(1, 2)).toBe(0);
    expect([factorLabel(0), factorLabel(1), factorLabel(-1), factorLabel(-2), factorLabel(-3)]).toEqual(['×1', '×2', '×½', '×¼', '×1/8']);
  });

  it('zooms to a range at least 2 wide inside the experts, in and out around its centre', () => {
    expect(clampRange(10, 3, 64)).toEqual([3, 10]);
    expect(clampRange(5, 5, 64)).toEqual([5, 7]);
    expect(clampRange(63.5, 70, 64)).toEqual([62, 64]);
    expect(zoomRange([0, 64], 64, 'in')).toEqual([16, 48]);
    expect(zoomRange([16, 48], 64, 'out')).toEqual([0, 64]);
    expect(zoomRange([0, 2], 64, 'in')).toEqual([0, 2]);
    expect(zoomRange([60, 64], 64, 'out')).toEqual([56, 64]);
  });
});
