/**
 * src/core's evaluate() plus the prepare() step learned predictors need (see learnedPredictor.ts for why).
 * No tfjs here: the CLI imports this whether or not a learned predictor is asked for.
 */
import { checkCompatible, scorePredictor, type PredictorResult } from '../core/predictors/evaluate';
import type { Predictor } from '../core/predictors/types';
import { checkTask, type TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';

/** A predictor that may need to see the test set before scoring (learned ones do). */
export type AnyPredictor = Predictor & { prepare?(test: TraceSet, task: TaskSpec): void | Promise<void> };

/** Fits each predictor on `train`, prepares it on `test` when it can, and scores it with the shared metrics. */
export async function evaluatePredictors(
  predictors: AnyPredictor[],
  train: TraceSet,
  test: TraceSet,
  task: TaskSpec,
): Promise<Record<string, PredictorResult>> {
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

/** How a learned predictor trained, as `eval --json` reports it. */
export interface TrainingReport {
  /** Windows in the training part (after the validation split and any sampling), per epoch. */
  samples: number;
  epochs: number;
  seconds: number;
  samplesPerSecond: number;
  backend: string;
  path: string;
}

export function trainingReport(
  summary: { trainWindows: number; epochsRun: number; history: { seconds: number }[]; trainingPath: string },
  backend: string,
): TrainingReport {
  const seconds = summary.history.reduce((a, e) => a + e.seconds, 0);
  return {
    samples: summary.trainWindows,
    epochs: summary.epochsRun,
    seconds,
    samplesPerSecond: seconds > 0 ? (summary.trainWindows * summary.epochsRun) / seconds : 0,
    backend: summary.trainingPath === 'cpu' ? 'cpu (TypeScript engine, no tfjs backend)' : backend,
    path: summary.trainingPath,
  };
}

/**
 * The predictor to use, chosen on validation (never on the test split): the baselines are fitted on the training
 * part of the validation split and scored on its held-out sequences; a learned predictor brings the validation
 * recall its residual blend was chosen with (same split, same windows). Returns null without a validation split.
 */
export async function chooseOnValidation(
  baselines: Predictor[],
  learned: { name: string; recall: number[] | null }[],
  train: TraceSet,
  task: TaskSpec,
  valFraction: number,
  seed: number,
): Promise<{ name: string; recallAtK: number[]; candidates: Record<string, number[]> } | null> {
  const { validationParts } = await import('./blend');
  const parts = validationParts(train, valFraction, seed);
  if (!parts) return null;
  const { fitPart, valPart } = parts;
  const candidates: Record<string, number[]> = {};
  for (const b of baselines) {
    await b.fit(fitPart, task);
    await (b as AnyPredictor).prepare?.(valPart, task);
    candidates[b.name] = scorePredictor(b, valPart, task).recallAtK;
  }
  for (const l of learned) if (l.recall) candidates[l.name] = l.recall;
  let best: string | null = null;
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  for (const [name, r] of Object.entries(candidates)) if (best === null || mean(r) > mean(candidates[best])) best = name;
  return best === null ? null : { name: best, recallAtK: candidates[best], candidates };
}
