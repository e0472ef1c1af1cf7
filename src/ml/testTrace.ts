/**
 * For tests: a small trace with strong inter-layer structure. src/core's syntheticTrace is mostly temporal
 * (its inter-layer counts beat frequency by ~2 points), too weak for a tiny model trained for seconds on the
 * CPU backend to show a clear margin; here each layer's first choice follows the previous layer's through a
 * fixed per-layer permutation 80% of the time.
 */
import { createRng } from '../core/experiment/rng';
import { syntheticTrace } from '../core/trace/synthetic';
import type { TraceSet } from '../core/trace/types';

export function layerChainTrace(o: { tokens: number; numLayers: number; numExperts: number; topK: number; seqLen?: number; seed?: number }): TraceSet {
  const { numLayers: L, numExperts: E, topK: K } = o;
  const set = syntheticTrace({ ...o, withWeights: false });
  const c = set.chunks[0];
  const rnd = createRng((o.seed ?? 1) + 77);
  const perm = Array.from({ length: L }, () => {
    const p = Array.from({ length: E }, (_, i) => i);
    for (let i = E - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  });
  const used = new Uint8Array(E);
  for (let t = 0; t < c.tokens; t++) {
    let first = Math.floor(rnd() * E);
    for (let l = 0; l < L; l++) {
      if (l > 0) first = rnd() < 0.8 ? perm[l][first] : Math.floor(rnd() * E);
      used.fill(0);
      for (let j = 0; j < K; j++) {
        let e = j === 0 ? first : Math.floor(rnd() * E);
        while (used[e]) e = (e + 1) % E;
        used[e] = 1;
        c.experts[(t * L + l) * K + j] = e;
      }
    }
  }
  return set;
}
