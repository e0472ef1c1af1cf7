/**
 * The statistics-aware model's per-layer features, from the training split only:
 *   [0] utilisation entropy of the layer's expert choices, in units of log E (0 = one expert, 1 = uniform);
 *   [1] routing diversity: distinct top-k sets / tokens at the layer;
 *   [2..2+E) historical activation frequency of each expert: its share of the layer's selections.
 */
import type { TraceSet } from '../../core/trace/types';

export interface LayerStats {
  /** Features per layer, F = 2 + E. */
  width: number;
  /** [L, F], layer-major. */
  values: Float32Array;
}

export function computeLayerStats(train: TraceSet): LayerStats {
  const { numLayers: L, numExperts: E, topK: K } = train.manifest;
  const F = 2 + E;
  const counts = new Float64Array(L * E);
  const sets = Array.from({ length: L }, () => new Set<string>());
  let tokens = 0;
  const sorted = new Array<number>(K);
  for (const c of train.chunks)
    for (let t = 0; t < c.tokens; t++, tokens++)
      for (let l = 0; l < L; l++) {
        const o = (t * L + l) * K;
        for (let j = 0; j < K; j++) {
          counts[l * E + c.experts[o + j]]++;
          sorted[j] = c.experts[o + j];
        }
        sets[l].add(sorted.sort((a, b) => a - b).join(','));
      }
  if (!tokens) throw new Error('layer statistics need at least one training token');
  const values = new Float32Array(L * F);
  for (let l = 0; l < L; l++) {
    const total = tokens * K;
    let h = 0;
    for (let e = 0; e < E; e++) {
      const p = counts[l * E + e] / total;
      values[l * F + 2 + e] = p;
      if (p > 0) h -= p * Math.log(p);
    }
    values[l * F] = E > 1 ? h / Math.log(E) : 0;
    values[l * F + 1] = sets[l].size / tokens;
  }
  return { width: F, values };
}
