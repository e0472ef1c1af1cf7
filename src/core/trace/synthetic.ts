import { createRng } from '../experiment/rng';
import { FORMAT_NAME, FORMAT_VERSION, type Manifest, type TraceChunk, type TraceSet } from './types';

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
  /**
   * Each dataset prefers its own experts: the skewed popularity is rotated by a per-dataset offset, so a
   * dataset filter changes the statistics (dataset 0 keeps the plain skew).
   */
  datasetSkew?: boolean;
}

/** The manifest of a synthetic trace (no shards listed yet). */
export function syntheticManifest(o: SyntheticOptions): Manifest {
  const L = o.numLayers;
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    model: { name: 'synthetic' },
    engine: 'speclab synthetic generator',
    quantization: 'none',
    numLayers: L,
    numExperts: o.numExperts,
    topK: o.topK,
    moeLayerIds: Array.from({ length: L }, (_, i) => i),
    datasets: o.datasets ?? ['synthetic'],
    hasWeights: o.withWeights !== false,
    hasLogits: false,
    hasTokenIds: false,
    hasTokenText: false,
    droppedTokens: 0,
    shards: [],
    description: `Synthetic routing (${o.tokens} tokens, seed ${o.seed ?? 1}) for tests and benchmarks.`,
  };
}

/**
 * Synthetic routing with structure a predictor can learn: each token's first choice at layer l follows the
 * previous layer's (inter-layer) or repeats the previous token's (temporal) with fixed probabilities, else is
 * drawn from a skewed per-layer popularity. Generated `chunkTokens` rows at a time (the whole trace is the same
 * whatever the chunk size), so a trace far larger than memory can be written shard by shard.
 * For tests and benchmarks only.
 */
export function* syntheticChunks(o: SyntheticOptions, chunkTokens = o.tokens): Generator<TraceChunk> {
  const { tokens: n, numLayers: L, numExperts: E, topK: K } = o;
  const seqLen = o.seqLen ?? 256;
  const D = (o.datasets ?? ['synthetic']).length;
  const rnd = createRng(o.seed ?? 1);
  const withWeights = o.withWeights !== false;
  const LK = L * K;
  // Per-layer affine successor map e -> (a*e + b) mod E gives inter-layer structure.
  const succA = Array.from({ length: L }, () => 1 + 2 * Math.floor(rnd() * (E / 2)));
  const succB = Array.from({ length: L }, () => Math.floor(rnd() * E));
  const shift = Array.from({ length: D }, (_, d) => (o.datasetSkew ? Math.floor((d * E) / D) : 0));
  const chosen = new Uint8Array(E);
  // The previous token's experts, for the temporal rule across chunk boundaries.
  const prevRow = new Int16Array(LK);
  for (let start = 0; start < n; start += Math.max(1, chunkTokens)) {
    const m = Math.min(n, start + Math.max(1, chunkTokens)) - start;
    const experts = new Int16Array(m * LK);
    const weights = withWeights ? new Float32Array(m * LK) : undefined;
    const seq = new Int32Array(m);
    const pos = new Int32Array(m);
    const dataset = new Uint16Array(m);
    for (let i = 0; i < m; i++) {
      const t = start + i;
      const s = Math.floor(t / seqLen);
      seq[i] = s;
      pos[i] = t % seqLen;
      const d = s % D;
      dataset[i] = d;
      for (let l = 0; l < L; l++) {
        const o2 = (i * L + l) * K;
        chosen.fill(0);
        for (let j = 0; j < K; j++) {
          let e: number;
          const r = rnd();
          if (j === 0 && l > 0 && r < 0.45) e = (succA[l] * experts[o2 - K] + succB[l]) % E;
          else if (pos[i] > 0 && r < 0.7) e = i > 0 ? experts[o2 - LK + j] : prevRow[l * K + j];
          else e = (Math.floor(E * rnd() * rnd()) + shift[d]) % E; // skewed towards low ids (rotated per dataset)
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
    if (m > 0) prevRow.set(experts.subarray((m - 1) * LK));
    yield { tokens: m, seq, pos, dataset, experts, ...(weights && { weights }) };
  }
}

/** The whole synthetic trace as one chunk (see syntheticChunks). */
export function syntheticTrace(o: SyntheticOptions): TraceSet {
  const chunks = [...syntheticChunks(o)];
  return {
    manifest: syntheticManifest(o),
    chunks: chunks.length
      ? chunks
      : [
          {
            tokens: 0,
            seq: new Int32Array(0),
            pos: new Int32Array(0),
            dataset: new Uint16Array(0),
            experts: new Int16Array(0),
            ...(o.withWeights !== false && { weights: new Float32Array(0) }),
          },
        ],
  };
}
