/**
 * The lookahead gate baseline: the router of layer l+h applied to layer l's router input (the collector's
 * `lookahead_logits`, docs/trace-format.md), the signal speculative expert loading prefetches with
 * (mixtral-offloading). For a window at last context layer l and target l+h it scores layer l's lookahead row for
 * step h: computed from layer l's input, which the next-layers task lets a predictor see in decode and prefill.
 *
 * The predictor reads the set it scores (prepare(set, task), then ctx.row) and is offered only where the trace has
 * the column for every step of the task's horizon: it never scores a window it has no gate for.
 */
import { scorePredictor, type PredictorResult } from './evaluate';
import type { PredictionContext, Predictor } from './types';
import type { TaskSpec } from '../tasks/task';
import type { Manifest, TraceSet, TraceShape } from '../trace/types';

export const LOOKAHEAD = 'lookahead';

/** A predictor that reads the set it scores: prepare(set, task) before scoring it (as learned predictors do). */
export interface PreparedPredictor extends Predictor {
  prepare(set: TraceSet, task: TaskSpec): void | Promise<void>;
}

const kindOf = (task: TaskSpec): string => (task as { kind?: string }).kind ?? 'layers';

/** Why the lookahead gate cannot predict `task` from a trace with this manifest (`label` names it), or undefined. */
export function lookaheadManifestProblem(m: Manifest, task: TaskSpec, label = 'the trace'): string | undefined {
  if (kindOf(task) !== 'layers') return `the lookahead gate predicts the layers ahead of the same token; it has nothing for the next-${kindOf(task)} task`;
  const H = m.lookaheadHorizon;
  if (!H)
    return `${label} has no lookahead gate logits (no "lookahead_logits" column, no manifest lookaheadHorizon); collect it with speclab-collect run --lookahead H`;
  if (task.horizon > H)
    return `${label} records the lookahead gate ${H} layer${H === 1 ? '' : 's'} ahead (manifest lookaheadHorizon ${H}); horizon ${task.horizon} needs ${task.horizon}`;
  return undefined;
}

/**
 * Why the lookahead gate cannot predict every window of `task` over `set`, or undefined: the manifest's reason, or
 * the first window whose gate for layer l+h is missing (NaN: layer l+h belongs to another stack of the model).
 */
export function lookaheadProblem(set: TraceSet, task: TaskSpec, label = 'the trace'): string | undefined {
  const m = set.manifest;
  const bad = lookaheadManifestProblem(m, task, label);
  if (bad) return bad;
  const { numLayers: L, numExperts: E } = m;
  const H = m.lookaheadHorizon!;
  const first = task.context - 1;
  const last = L - 1 - task.horizon;
  let row = 0;
  for (const c of set.chunks) {
    if (!c.lookahead) return `${label}: a chunk of ${c.tokens} tokens has no lookahead logits though the manifest's lookaheadHorizon is ${H}`;
    for (let t = 0; t < c.tokens; t++, row++)
      for (let l = first; l <= last; l++)
        for (let h = 1; h <= task.horizon; h++)
          if (Number.isNaN(c.lookahead[((t * L + l) * H + h - 1) * E]))
            return `${label}: token ${row} has no lookahead gate from layer ${l} to layer ${l + h} (NaN: the layers belong to different stacks)`;
  }
  return undefined;
}

/** The lookahead gate as a predictor of the next-layers task (see the file comment). */
export function lookaheadPredictor(shape: TraceShape): PreparedPredictor {
  const { numLayers: L, numExperts: E } = shape;
  let H = 0;
  /** The prepared set's lookahead arrays and the row each chunk starts at. */
  let chunks: Float32Array[] = [];
  let starts: number[] = [];
  let rows = 0;
  let at = 0;
  return {
    name: LOOKAHEAD,
    kind: 'baseline',
    fit() {
      // Nothing to learn: the gate is the model's own router.
    },
    prepare(set: TraceSet, task: TaskSpec) {
      const problem = lookaheadProblem(set, task);
      if (problem) throw new Error(`${LOOKAHEAD}: ${problem}`);
      H = set.manifest.lookaheadHorizon!;
      chunks = set.chunks.map((c) => c.lookahead!);
      starts = [];
      rows = 0;
      for (const c of set.chunks) {
        starts.push(rows);
        rows += c.tokens;
      }
      at = 0;
    },
    score(ctx: PredictionContext, target: number, out: Float64Array) {
      const l = ctx.layer;
      const h = target - l;
      const r = ctx.row;
      if ((ctx as { ahead?: number }).ahead || r === undefined || r < 0 || r >= rows || h < 1 || h > H)
        throw new Error(
          `${LOOKAHEAD}: window (row ${r}, layer ${l}, target ${target}) was not prepared; call prepare(set, task) and score through scorePredictor`,
        );
      // Rows come in order: the chunk of the last row, else a binary search.
      if (!(starts[at] <= r && r < (starts[at + 1] ?? rows))) {
        let lo = 0;
        let hi = starts.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (starts[mid] <= r) lo = mid;
          else hi = mid - 1;
        }
        at = lo;
      }
      const a = chunks[at];
      const o = (((r - starts[at]) * L + l) * H + h - 1) * E;
      for (let e = 0; e < E; e++) out[e] = a[o + e];
    },
  };
}

/** The lookahead gate's accuracy per distance: recall@k (and the other metrics) 1, 2, ..., H layers ahead. */
export interface LookaheadCurve {
  /** Layers ahead, 1..H. */
  distance: number[];
  recallAtK: number[];
  exact: number[];
  top1: number[];
  /** Windows (token, layer l) scored at every distance. */
  samples: number;
}

/**
 * Recall of the lookahead gate at 1, 2, ... layers ahead (mixtral-offloading's Fig. 2 protocol): the per-step
 * result of the lookahead predictor scored with horizon H, the trace's lookaheadHorizon (or as many layers as fit
 * after the task's context), on the same windows at every distance. Null when the trace has no lookahead gate.
 */
export function lookaheadByDistance(test: TraceSet, task: TaskSpec): LookaheadCurve | null {
  const m = test.manifest;
  if (kindOf(task) !== 'layers' || !m.lookaheadHorizon) return null;
  const H = Math.min(m.lookaheadHorizon, m.numLayers - task.context);
  if (H < 1) return null;
  const t: TaskSpec = { ...task, horizon: H };
  if (lookaheadProblem(test, t)) return null;
  const p = lookaheadPredictor(m);
  p.fit(test, t);
  p.prepare(test, t);
  const r: PredictorResult = scorePredictor(p, test, t);
  return { distance: Array.from({ length: H }, (_, i) => i + 1), recallAtK: r.recallAtK, exact: r.exact, top1: r.top1, samples: r.samples };
}
