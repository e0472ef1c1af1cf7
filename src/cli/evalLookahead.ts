/**
 * `speclab eval` and the lookahead gate (src/core/predictors/lookahead.ts): `all` leaves it out where the trace has
 * no lookahead logits for the task (and says so on stderr), naming it there is an error, and its result carries the
 * recall at 1, 2, ... layers ahead (`byDistance`).
 */
import type { PredictorResult } from '../core/predictors/evaluate';
import { LOOKAHEAD, lookaheadByDistance, type LookaheadCurve } from '../core/predictors/lookahead';
import { baselineProblem } from '../core/predictors/registry';
import type { TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';

/** Drops the lookahead gate from `names` (in place) under `all` where it cannot run; throws where it was named. */
export function selectLookahead(names: string[], all: boolean, train: TraceSet, test: TraceSet, task: TaskSpec, log: (line: string) => void): void {
  const i = names.indexOf(LOOKAHEAD);
  if (i < 0) return;
  const problem = baselineProblem(LOOKAHEAD, train, test, task);
  if (!problem) return;
  if (!all) throw new Error(`--predictor ${LOOKAHEAD}: ${problem}`);
  names.splice(i, 1);
  log(`${LOOKAHEAD}: left out: ${problem}\n`);
}

export type WithCurve = PredictorResult & { byDistance?: LookaheadCurve };

/** Adds the lookahead gate's recall per distance (1..the trace's lookahead horizon) to its result, when it ran. */
export function addLookaheadCurve(results: Record<string, PredictorResult>, test: TraceSet, task: TaskSpec): void {
  const r = results[LOOKAHEAD] as WithCurve | undefined;
  if (!r) return;
  const curve = lookaheadByDistance(test, task);
  if (curve) r.byDistance = curve;
}

/** The text table's line for the curve ('' without one). */
export function lookaheadCurveText(results: Record<string, PredictorResult>): string {
  const c = (results[LOOKAHEAD] as WithCurve | undefined)?.byDistance;
  if (!c) return '';
  return `${LOOKAHEAD} gate recall@k by distance (layers ahead, ${c.samples} windows): ${c.distance.map((d, i) => `l+${d} ${c.recallAtK[i].toFixed(4)}`).join('  ')}\n`;
}
