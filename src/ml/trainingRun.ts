/**
 * The seam between a learned predictor and how it trains: the tfjs TrainingSession (tfjs ops or the fused WebGPU
 * step) and the CPU engine of the sequence model both present this, so the training service, the ensemble and
 * the CLI drive any of them the same way.
 */
import type { SessionState, TrainingHooks, TrainingSummary } from './trainingSession';

export interface TrainingRun {
  readonly config: { context: number; horizon: number };
  readonly state: SessionState;
  /** Asks a running run to stop after its current step; run() then resolves with state 'stopped'. */
  stop(): void;
  /** Trains until done or stopped; called again after a stop, continues exactly where it stopped. */
  run(hooks?: TrainingHooks): Promise<TrainingSummary>;
  summary(): TrainingSummary;
}
