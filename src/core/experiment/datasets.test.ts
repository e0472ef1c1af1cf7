import { describe, expect, it } from 'vitest';
import { syntheticTrace } from '../trace/synthetic';
import { totalTokens } from '../trace/types';
import { filterDatasets, resolveDatasets } from './datasets';

describe('resolveDatasets', () => {
  it('maps names to indices in manifest order and reports unknown names', () => {
    expect(resolveDatasets(['a', 'b', 'c'], [])).toEqual({ indices: null, unknown: [] });
    expect(resolveDatasets(['a', 'b', 'c'], ['c', 'a', 'zz'])).toEqual({ indices: [0, 2], unknown: ['zz'] });
  });
});

describe('filterDatasets', () => {
  const set = syntheticTrace({ tokens: 600, numLayers: 3, numExperts: 8, topK: 2, seqLen: 50, seed: 1, datasets: ['a', 'b'] });

  it('keeps only the chosen datasets, whole sequences in trace order', () => {
    const only = filterDatasets(set, [1]);
    let kept = 0;
    for (const c of set.chunks) for (let t = 0; t < c.tokens; t++) if (c.dataset[t] === 1) kept++;
    expect(totalTokens(only)).toBe(kept);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(600);
    for (const c of only.chunks) {
      expect(c.experts.length).toBe(c.tokens * 3 * 2);
      for (let t = 0; t < c.tokens; t++) expect(c.dataset[t]).toBe(1);
    }
    expect(filterDatasets(set, null)).toBe(set);
    expect(totalTokens(filterDatasets(set, []))).toBe(0);
  });
});
