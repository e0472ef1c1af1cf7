/**
 * How a run's results are keyed: every predictor by its own name — a baseline by its (random, frequency, markov,
 * temporal), the learned model by its model kind (`interlayer`, `joint`, …, the run's `spec.model.kind`). Run files
 * before version 2 kept every learned result under `interlayer`; `migrateRunResults` moves it to its kind.
 */
import type { PredictorResult } from '../predictors/evaluate';
import type { ModelKind } from '../experiment/spec';

/** The key that, in a comparison of runs, stands for each run's own trained model, whichever its kind. */
export const TRAINED_MODEL = 'model';

/** The key version 1 of the run file (and records kept before it) stored every learned result under. */
export const LEGACY_MODEL_KEY = 'interlayer';

interface Keyed {
  spec: { model: { kind: ModelKind } };
  results: Record<string, PredictorResult>;
}

/** The run's trained-model result (under its model kind), if it was scored. */
export function modelResultOf(run: Keyed): PredictorResult | undefined {
  return run.results[run.spec.model.kind];
}

/** One predictor's result of a run; `TRAINED_MODEL` picks the run's own model. */
export function resultOf(run: Keyed, predictor: string): PredictorResult | undefined {
  return predictor === TRAINED_MODEL ? modelResultOf(run) : run.results[predictor];
}

/**
 * A run's results keyed by model kind: a learned result kept under `interlayer` by a run of another kind moves to
 * that kind. Runs already keyed by kind come back unchanged (the same object), so it is safe on every record.
 */
export function migrateRunResults<R extends Keyed>(run: R): R {
  const kind = run.spec.model.kind;
  const legacy = run.results[LEGACY_MODEL_KEY];
  if (kind === LEGACY_MODEL_KEY || !legacy || legacy.kind !== 'learned' || run.results[kind]) return run;
  const { [LEGACY_MODEL_KEY]: moved, ...rest } = run.results;
  return { ...run, results: { ...rest, [kind]: moved } };
}
