/**
 * src/core's evaluate() plus the prepare() step learned predictors need (see learnedPredictor.ts for why).
 * No tfjs here: the CLI imports this whether or not a learned predictor is asked for.
 */
import { checkCompatible, scorePredictor, type PredictorResult } from '../core/predictors/evaluate';
import type { Predictor } from '../core/predictors/types';
import { checkTask, type TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';

/** A predictor that may need to see the test set before scoring (learned ones do). */
export type AnyPredictor = Predictor & { prepare?(test: TraceSet, task: TaskSpec): Promise<void> };

/** Fits each predictor on `train`, prepares it on `test` when it can, and scores it with the shared metrics. */
export async function evaluatePredictors(predictors: AnyPredictor[], train: TraceSet, test: TraceSet, task: TaskSpec): Promise<Record<string, PredictorResult>> {
  checkCompatible(train, test);
  checkTask(test.manifest.numLayers, task);
  const out: Record<string, PredictorResult> = {};
  for (const p of predictors) {
    await p.fit(train, task);
    await p.prepare?.(test, task);
    out[p.name] = scorePredictor(p, test, task);
  }
  return out;
}
