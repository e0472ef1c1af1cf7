/**
 * Every baseline by name, for the CLI and the page: the four that need only routing (baselines.ts) and the
 * lookahead gate (lookahead.ts), which needs the trace's lookahead_logits and is offered only where they cover the
 * task (it reads the set it scores, through prepare()).
 */
import { BASELINES } from './baselines';
import { checkCompatible, scorePredictor, type PredictorResult } from './evaluate';
import { LOOKAHEAD, lookaheadByDistance, lookaheadPredictor, lookaheadProblem, type LookaheadCurve, type PreparedPredictor } from './lookahead';
import type { Predictor } from './types';
import { checkTask, type TaskSpec } from '../tasks/task';
import type { TraceSet, TraceShape } from '../trace/types';

/** A baseline; the lookahead gate also has prepare(set, task), called before it scores `set`. */
export type Baseline = Predictor | PreparedPredictor;

export const BASELINE_NAMES: readonly string[] = [...Object.keys(BASELINES), LOOKAHEAD];

export const isBaseline = (name: string): boolean => BASELINE_NAMES.includes(name);

export function makeBaseline(name: string, shape: TraceShape, seed: number): Baseline {
  if (name === LOOKAHEAD) return lookaheadPredictor(shape);
  const make = BASELINES[name];
  if (!make) throw new Error(`unknown baseline "${name}" (known: ${BASELINE_NAMES.join(', ')})`);
  return make(shape, seed);
}

/**
 * Why baseline `name` cannot be scored on `task` with these sets, or undefined. Only the lookahead gate depends on
 * the trace: it scores the test set and must also be there for the training set (the choice on validation scores
 * it on held-out training sequences).
 */
export function baselineProblem(name: string, train: TraceSet, test: TraceSet, task: TaskSpec): string | undefined {
  if (name !== LOOKAHEAD) return undefined;
  // A split of one trace keeps its manifest: name it once.
  const one = train.manifest === test.manifest;
  return lookaheadProblem(test, task, one ? 'the trace' : 'the test set') ?? lookaheadProblem(train, task, one ? 'the trace' : 'the training set');
}

/** The baselines that can score `task` on these sets (all of them but the lookahead gate where it is missing). */
export function offeredBaselines(train: TraceSet, test: TraceSet, task: TaskSpec, seed: number): Baseline[] {
  return BASELINE_NAMES.filter((n) => !baselineProblem(n, train, test, task)).map((n) => makeBaseline(n, test.manifest, seed));
}

/**
 * Fits and scores every baseline offered for `task` (the page's run): each on the same test windows, the lookahead
 * gate prepared on the test set, with its recall at 1..H layers ahead when it ran.
 */
export async function scoreBaselines(
  train: TraceSet,
  test: TraceSet,
  task: TaskSpec,
  seed: number,
): Promise<{ results: Record<string, PredictorResult>; lookaheadByDistance?: LookaheadCurve }> {
  checkCompatible(train, test);
  checkTask(test.manifest.numLayers, task);
  const results: Record<string, PredictorResult> = {};
  for (const p of offeredBaselines(train, test, task, seed)) {
    await p.fit(train, task);
    if ('prepare' in p) await p.prepare(test, task);
    results[p.name] = scorePredictor(p, test, task);
  }
  const curve = results[LOOKAHEAD] ? lookaheadByDistance(test, task) : null;
  return curve ? { results, lookaheadByDistance: curve } : { results };
}
