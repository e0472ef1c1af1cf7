import type { CoveragePoint } from '../metrics/confidence';
import { StepMetrics } from '../metrics/speculation';
import { checkTask, type TaskSpec } from '../tasks/task';
import type { TraceSet, TraceShape } from '../trace/types';
import type { Predictor, PredictorKind } from './types';
import { forEachWindow, type TokenIndex } from './window';

/** One predictor's accuracy on a test set; arrays are per horizon step (index 0 = layer l+1). */
export interface PredictorResult {
  kind: PredictorKind;
  recallAtK: number[];
  exact: number[];
  top1: number[];
  top3: number[];
  top5: number[];
  /** Per horizon step: coverage and precision of speculating only above each confidence threshold. */
  coverage: CoveragePoint[][];
  /**
   * Windows scored: (token, last context layer) pairs in the next-layers task, each scored once per horizon step;
   * tokens in the next-tokens task, each scored once per (horizon step, layer).
   */
  samples: number;
  /** Learned predictors: recall@k of the model without its residual baselines (src/ml/blend.ts), per step. */
  modelAloneRecallAtK?: number[];
}

/** Scores every window of the test set with one predictor (already fitted) and accumulates the metrics. */
export function scorePredictor(p: Predictor, test: TraceSet, task: TaskSpec, index?: TokenIndex): PredictorResult {
  const shape: TraceShape = test.manifest;
  const { numLayers: L, numExperts: E, topK: K } = shape;
  checkTask(L, task);
  const steps = Array.from({ length: task.horizon }, () => new StepMetrics(E, K));
  const scores = new Float64Array(E);
  const windows = forEachWindow(
    test,
    task,
    (ctx, target, step, truth, off) => {
      p.score(ctx, target, scores);
      steps[step].add(scores, truth, off);
    },
    index,
  );
  const r = steps.map((s) => s.result());
  return {
    kind: p.kind,
    recallAtK: r.map((x) => x.recallAtK),
    exact: r.map((x) => x.exact),
    top1: r.map((x) => x.top1),
    top3: r.map((x) => x.top3),
    top5: r.map((x) => x.top5),
    coverage: r.map((x) => x.coverage),
    samples: windows,
  };
}

export function checkCompatible(train: TraceSet, test: TraceSet): void {
  const a = train.manifest;
  const b = test.manifest;
  for (const k of ['numLayers', 'numExperts', 'topK'] as const)
    if (a[k] !== b[k]) throw new Error(`training and test traces differ in ${k} (${a[k]} vs ${b[k]})`);
}

/** Fits each predictor on `train` and scores it on `test`. */
export async function evaluate(predictors: Predictor[], train: TraceSet, test: TraceSet, task: TaskSpec): Promise<Record<string, PredictorResult>> {
  checkCompatible(train, test);
  checkTask(test.manifest.numLayers, task);
  const out: Record<string, PredictorResult> = {};
  for (const p of predictors) {
    await p.fit(train, task);
    out[p.name] = scorePredictor(p, test, task);
  }
  return out;
}
