import type { TaskSpec } from '../tasks/task';
import type { TraceSet, TraceShape } from '../trace/types';

/** What a predictor sees for one token at its last context layer. */
export interface PredictionContext {
  /** The token's experts at every layer ([l*K + j]); a predictor may read only layers ≤ `layer`. */
  token: Int16Array;
  /** The previous token of the same sequence (all layers), or null for a sequence's first token. */
  prev: Int16Array | null;
  /** The last context layer l. */
  layer: number;
  /** The token's row in the set being scored (chunks in order, then rows), where the caller knows it. */
  row?: number;
}

export type PredictorKind = 'baseline' | 'learned';

export interface Predictor {
  readonly name: string;
  readonly kind: PredictorKind;
  /** Learns from training data (counts, weights). Called once before scoring. */
  fit(train: TraceSet, task: TaskSpec): void | Promise<void>;
  /** Writes a score per expert for `target` layer into `out` (length E); higher means more likely. */
  score(ctx: PredictionContext, target: number, out: Float64Array): void;
}

export type PredictorFactory = (shape: TraceShape, seed: number) => Predictor;
