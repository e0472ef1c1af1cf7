import { createRng } from '../experiment/rng';
import type { TaskSpec } from '../tasks/task';
import { taskKind, windowLayers } from '../tasks/task';
import { indexTokens } from './window';
import type { TraceSet, TraceShape } from '../trace/types';
import type { PredictionContext, Predictor, PredictorFactory } from './types';

/** Per-layer selection counts over the training data, scaled into [0, 1) for use as a tie-break. */
function frequencyTable(train: TraceSet, shape: TraceShape): Float64Array {
  const { numLayers: L, numExperts: E, topK: K } = shape;
  const counts = new Float64Array(L * E);
  for (const c of train.chunks) {
    const ex = c.experts;
    for (let t = 0; t < c.tokens; t++) for (let l = 0; l < L; l++) for (let j = 0, o = (t * L + l) * K; j < K; j++) counts[l * E + ex[o + j]]++;
  }
  // Dividing by (max + 1) keeps every value below 1, so it orders experts without outweighing a count.
  for (let l = 0; l < L; l++) {
    let max = 0;
    for (let e = 0; e < E; e++) max = Math.max(max, counts[l * E + e]);
    for (let e = 0; e < E; e++) counts[l * E + e] /= max + 1;
  }
  return counts;
}

/** Uniformly random scores from a seeded stream: the chance level (recall K/E). */
export const randomPredictor: PredictorFactory = (shape, seed) => {
  let rnd = createRng(seed);
  return {
    name: 'random',
    kind: 'baseline',
    fit() {
      rnd = createRng(seed);
    },
    score(_ctx, _target, out) {
      for (let e = 0; e < shape.numExperts; e++) out[e] = rnd();
    },
  };
};

/** The target layer's most used experts in training, whatever the context. */
export const frequencyPredictor: PredictorFactory = (shape) => {
  let freq: Float64Array = new Float64Array(0);
  return {
    name: 'frequency',
    kind: 'baseline',
    fit(train) {
      freq = frequencyTable(train, shape);
    },
    score(_ctx, target, out) {
      const E = shape.numExperts;
      for (let e = 0; e < E; e++) out[e] = freq[target * E + e];
    },
  };
};

/**
 * Transition counts. Next layers: expert f at the target layer scores the training count of tokens that had e at
 * layer l and f at the target, summed over the token's experts e at layer l. Next tokens: expert f at layer τ of
 * token t+h scores the count of tokens with e at layer τ followed h tokens later by f at τ, summed over token t's
 * experts e at τ. Ties and unseen go by frequency.
 */
export const markovPredictor: PredictorFactory = (shape) => {
  const { numLayers: L, numExperts: E, topK: K } = shape;
  let freq: Float64Array = new Float64Array(0);
  let H = 0;
  /** Next layers: [((l*H + h-1)*E + e)*E + f]; next tokens: [(((h-1)*L + τ)*E + e)*E + f]. */
  let counts = new Float64Array(0);
  return {
    name: 'markov',
    kind: 'baseline',
    fit(train: TraceSet, task: TaskSpec) {
      freq = frequencyTable(train, shape);
      H = task.horizon;
      counts = new Float64Array(L * H * E * E);
      if (taskKind(task) === 'tokens') {
        const ix = indexTokens(train);
        const ex = ix.experts;
        for (let r = 0; r < ix.n; r++)
          for (let h = 1, t = ix.next[r]; h <= H && t >= 0; h++, t = ix.next[t])
            for (let tau = 0; tau < L; tau++) {
              const base = ((h - 1) * L + tau) * E * E;
              for (let j = 0; j < K; j++) {
                const row = base + ex[(r * L + tau) * K + j] * E;
                for (let q = 0; q < K; q++) counts[row + ex[(t * L + tau) * K + q]]++;
              }
            }
        return;
      }
      const { first, last } = windowLayers(L, task);
      for (const c of train.chunks) {
        const ex = c.experts;
        for (let t = 0; t < c.tokens; t++)
          for (let l = Math.max(0, first); l <= last; l++)
            for (let h = 1; h <= H; h++) {
              const base = (l * H + h - 1) * E * E;
              const o = (t * L + l) * K;
              const ot = (t * L + l + h) * K;
              for (let j = 0; j < K; j++) {
                const row = base + ex[o + j] * E;
                for (let q = 0; q < K; q++) counts[row + ex[ot + q]]++;
              }
            }
      }
    },
    score(ctx: PredictionContext, target: number, out: Float64Array) {
      // Next tokens: from the current token's experts at the target layer; next layers: at the last context layer.
      const from = ctx.ahead > 0 ? target : ctx.layer;
      const base = ctx.ahead > 0 ? ((ctx.ahead - 1) * L + target) * E * E : (ctx.layer * H + target - ctx.layer - 1) * E * E;
      for (let f = 0; f < E; f++) out[f] = freq[target * E + f];
      for (let j = 0; j < K; j++) {
        const row = base + ctx.token[from * K + j] * E;
        for (let f = 0; f < E; f++) out[f] += counts[row + f];
      }
    },
  };
};

/** The experts of the last token routed through the target layer before the target, by rank. */
export function lastRoutedAtTarget(ctx: PredictionContext, target: number, K: number): Int16Array | null {
  // Next tokens: the current token (fully routed); next layers: the previous token (the current one is the target).
  if (ctx.ahead > 0) return ctx.token.subarray(target * K, (target + 1) * K);
  return ctx.prev ? ctx.prev.subarray(target * K, (target + 1) * K) : null;
}

/**
 * The last routed token's experts at the target layer (by rank): the previous token's in the next-layers task, the
 * current token's in the next-tokens task; a sequence's first token falls back to frequency.
 */
export const temporalPredictor: PredictorFactory = (shape) => {
  const { numExperts: E, topK: K } = shape;
  let freq: Float64Array = new Float64Array(0);
  return {
    name: 'temporal',
    kind: 'baseline',
    fit(train) {
      freq = frequencyTable(train, shape);
    },
    score(ctx, target, out) {
      for (let e = 0; e < E; e++) out[e] = freq[target * E + e];
      const last = lastRoutedAtTarget(ctx, target, K);
      if (last) for (let j = 0; j < K; j++) out[last[j]] += K - j;
    },
  };
};

export const BASELINES: Record<string, PredictorFactory> = {
  random: randomPredictor,
  frequency: frequencyPredictor,
  markov: markovPredictor,
  temporal: temporalPredictor,
};
