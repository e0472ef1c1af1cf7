/**
 * The learned-predictor interface (a src/core Predictor that trains, prepares its test scores and exports), and
 * the InterLayer predictor: the registry's `interlayer` entry through the one adapter of the tfjs models
 * (models/modelPredictor.ts). src/core stays free of tfjs.
 */
import type { TaskSpec } from '../core/tasks/task';
import type { TraceSet, TraceShape } from '../core/trace/types';
import type { Predictor } from '../core/predictors/types';
import type { InterLayerConfigInput } from './config';
import type { ExportedModel, ExportSample } from './exportModel';
import { modelPredictor } from './models/modelPredictor';
import type { TrainingHooks, TrainingSummary } from './trainingSession';
import type { TrainingRun } from './trainingRun';

export interface LearnedPredictor extends Predictor {
  readonly kind: 'learned';
  /** Trains a new model (context and horizon from `task`). */
  fit(train: TraceSet, task: TaskSpec): Promise<void>;
  /** Computes the scores of every window of `test`; call after fit() and before score(). */
  prepare(test: TraceSet, task: TaskSpec): Promise<void>;
  /** The training run of the last fit(), or null before it. */
  readonly training: TrainingSummary | null;
  readonly session: TrainingRun | null;
  /** Continues a stopped fit() (default: the session's run()); for predictors that train several sessions. */
  resume?(hooks?: TrainingHooks): Promise<void>;
  /**
   * The trained model's part of an export (exportModel.ts): weights, shape, options, vocabulary and, with a
   * sample, reference cases from its first windows (or tokens). Throws before fit().
   */
  exportModel?(sample?: ExportSample): Promise<ExportedModel>;
  dispose(): void;
}

export interface InterLayerPredictorOptions {
  /** Hyperparameters; `context` and `horizon` are taken from the task given to fit(). */
  config?: InterLayerConfigInput;
  hooks?: TrainingHooks;
  name?: string;
}

export function interLayerPredictor(shape: TraceShape, opts: InterLayerPredictorOptions = {}): LearnedPredictor {
  return modelPredictor('interlayer', shape, opts);
}
