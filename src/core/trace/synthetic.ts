import { createRng } from '../experiment/rng';
import { FORMAT_NAME, FORMAT_VERSION, type Manifest, type TraceSet } from './types';

export interface SyntheticOptions {
  tokens: number;
  numLayers: number;
  numExperts: number;
  topK: number;
  /** Tokens per sequence. */
  seqLen?: number;
  seed?: number;
  datasets?: string[];
  withWeights?: boolean;
}

/**
 * A synthetic trace with routing structure a predictor can learn: each token's first choice at layer l
 * follows the previous layer's (inter-layer) or repeats the previous token's (temporal) with fixed
 * probabilities, else is drawn from a skewed per-layer popularity. For tests and benchmarks only.
 */
export function syntheticTrace(o: SyntheticOptions): TraceSet {
  const { tokens: n, numLayers: L, numExperts: E, topK: K } = o;
  const seqLen = o.seqLen ?? 256;
  const datasets = o.datasets ?? ['synthetic'];
  const rnd = createRng(o.seed ?? 1);
  const experts = new Int16Array(n * L * K);
  const weights = o.withWeights === false ? undefined : new Float32Array(n * L * K);
  const seq = new Int32Array(n);
  const pos = new Int32Array(n);
  const dataset = new Uint16Array(n);
  // Per-layer affine successor map e -> (a*e + b) mod E gives inter-layer structure.
  const succA = Array.from({ length: L }, () => 1 + 2 * Math.floor(rnd() * (E / 2)));
  const succB = Array.from({ length: L }, () => Math.floor(rnd() * E));
  const chosen = new Uint8Array(E);
  for (let t = 0; t < n; t++) {
    const s = Math.floor(t / seqLen);
    seq[t] = s;
    pos[t] = t % seqLen;
    dataset[t] = s % datasets.length;
    for (let l = 0; l < L; l++) {
      const o2 = (t * L + l) * K;
      chosen.fill(0);
      for (let j = 0; j < K; j++) {
        let e: number;
        const r = rnd();
        if (j === 0 && l > 0 && r < 0.45) e = (succA[l] * experts[(t * L + l - 1) * K] + succB[l]) % E;
        else if (pos[t] > 0 && r < 0.7) e = experts[((t - 1) * L + l) * K + j];
        else e = Math.floor(E * rnd() * rnd()); // skewed towards low ids
        while (chosen[e]) e = (e + 1) % E;
        chosen[e] = 1;
        experts[o2 + j] = e;
      }
      if (weights) {
        let rest = 1;
        for (let j = 0; j < K; j++) {
          const w = j === K - 1 ? rest : rest * (0.5 + 0.4 * rnd());
          weights[o2 + j] = w;
          rest -= w;
        }
      }
    }
  }
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    model: { name: 'synthetic' },
    engine: 'speclab synthetic generator',
    quantization: 'none',
    numLayers: L,
    numExperts: E,
    topK: K,
    moeLayerIds: Array.from({ length: L }, (_, i) => i),
    datasets,
    hasWeights: !!weights,
    hasLogits: false,
    hasTokenIds: false,
    hasTokenText: false,
    droppedTokens: 0,
    shards: [],
    description: `Synthetic routing (${n} tokens, seed ${o.seed ?? 1}) for tests and benchmarks.`,
  };
  return { manifest, chunks: [{ tokens: n, seq, pos, dataset, experts, ...(weights && { weights }) }] };
}
