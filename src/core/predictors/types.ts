import type { TaskSpec } from '../tasks/task';
import type { TraceSet, TraceShape } from '../trace/types';

/** Other tokens of the window's sequence, by offset from the current token (-1: the previous one). */
export interface ContextView {
  /** The K experts (by rank) of that token at `layer`, or null where the task hides them or there is no such token. */
  experts(offset: number, layer: number): Int16Array | null;
  /** That token's id, or -1 where the task hides it, there is no such token or the trace records no ids. */
  tokenId(offset: number): number;
}

/** What a predictor sees for one window (src/core/predictors/window.ts builds it and enforces the task's visibility). */
export interface PredictionContext {
  /** The current token's experts at every layer ([l*K + j]); layers the task hides (above `layer`) are -1. */
  token: Int16Array;
  /** The previous token of the same sequence (all layers), or null for a sequence's first token. */
  prev: Int16Array | null;
  /** The current token's last visible layer: l in the next-layers task, the last layer in the next-tokens task. */
  layer: number;
  /** Next-tokens task: how many tokens ahead the target is (1..H); 0 in the next-layers task (the target is the current token). */
  ahead: number;
  /** The token's row in the set being scored (chunks in order, then rows), where the caller knows it. */
  row?: number;
  /** Other tokens of the sequence, as far as the task lets a predictor see them (absent outside scoring). */
  view?: ContextView;
}

export type PredictorKind = 'baseline' | 'learned';

export interface Predictor {
  readonly name: string;
  readonly kind: PredictorKind;
  /** Learns from training data (counts, weights). Called once before scoring. */
  fit(train: TraceSet, task: TaskSpec): void | Promise<void>;
  /** Writes a score per expert for `target` layer (of the token `ctx.ahead` ahead) into `out` (length E); higher means more likely. */
  score(ctx: PredictionContext, target: number, out: Float64Array): void;
}

export type PredictorFactory = (shape: TraceShape, seed: number) => Predictor;
