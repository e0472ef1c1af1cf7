/**
 * The InterLayer model as a src/core Predictor, so it is scored by the same code and metrics as the baselines.
 * src/core stays free of tfjs; this adapter lives here.
 *
 * score() is synchronous and the GPU can only be read asynchronously, so scores are computed ahead of time:
 * prepare(test) runs the model over every distinct test window in batches, and score() looks them up. The
 * model's output depends only on the window's content (its context experts and layers), so the lookup is keyed
 * by that content: exact whatever order score() is called in.
 */
import { requireLayersDecode, type TaskSpec } from '../core/tasks/task';
import type { TraceSet, TraceShape } from '../core/trace/types';
import type { PredictionContext, Predictor } from '../core/predictors/types';
import { parseInterLayerConfig, type InterLayerConfigInput } from './config';
import { DEFAULT_CASES, headWindows, tfjsTensors, windowCases, WINDOW_INPUTS, type ExportedModel, type ExportSample } from './exportModel';
import { TrainingSession, type TrainingHooks, type TrainingSummary } from './trainingSession';
import type { TrainingRun } from './trainingRun';
import { buildWindows, type Windows } from './windows';

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

/** Content key of a window: last context layer, then the context layers' experts. */
function windowKey(layer: number, experts: ArrayLike<number>, from: number, count: number): string {
  let k = String(layer);
  for (let i = 0; i < count; i++) k += ',' + experts[from + i];
  return k;
}

/** Keeps the first window of each distinct content. */
function distinctWindows(w: Windows): { unique: Windows; index: Map<string, number> } {
  const CK = w.context * w.topK;
  const index = new Map<string, number>();
  const keep: number[] = [];
  for (let i = 0; i < w.count; i++) {
    const key = windowKey(w.ctxLayers[i * w.context + w.context - 1], w.ctxExperts, i * CK, CK);
    if (!index.has(key)) {
      index.set(key, keep.length);
      keep.push(i);
    }
  }
  const pick = (a: Int32Array, width: number) => {
    const out = new Int32Array(keep.length * width);
    keep.forEach((i, j) => out.set(a.subarray(i * width, (i + 1) * width), j * width));
    return out;
  };
  const unique: Windows = {
    ...w,
    count: keep.length,
    ctxExperts: pick(w.ctxExperts, CK),
    ctxLayers: pick(w.ctxLayers, w.context),
    targetLayers: pick(w.targetLayers, w.horizon),
    targets: pick(w.targets, w.horizon * w.topK),
  };
  return { unique, index };
}

export interface InterLayerPredictorOptions {
  /** Hyperparameters; `context` and `horizon` are taken from the task given to fit(). */
  config?: InterLayerConfigInput;
  hooks?: TrainingHooks;
  name?: string;
}

export function interLayerPredictor(shape: TraceShape, opts: InterLayerPredictorOptions = {}): LearnedPredictor {
  const base = parseInterLayerConfig(opts.config ?? {});
  let session: TrainingSession | null = null;
  let training: TrainingSummary | null = null;
  let scores: Float32Array = new Float32Array(0);
  let index = new Map<string, number>();
  let C = 0;
  let H = 0;
  const E = shape.numExperts;
  const K = shape.topK;
  return {
    name: opts.name ?? 'interlayer',
    kind: 'learned',
    get training() {
      return training;
    },
    get session() {
      return session;
    },
    async fit(train: TraceSet, task: TaskSpec) {
      requireLayersDecode(task, opts.name ?? 'interlayer');
      session?.dispose();
      scores = new Float32Array(0);
      index = new Map();
      session = new TrainingSession(train, { ...base, context: task.context, horizon: task.horizon });
      C = task.context;
      H = task.horizon;
      training = await session.run(opts.hooks);
    },
    async prepare(test: TraceSet, task: TaskSpec) {
      if (!session) throw new Error(`${this.name}: prepare() before fit()`);
      if (task.context !== C || task.horizon !== H) throw new Error(`${this.name}: fitted for context ${C}/horizon ${H}, asked to score ${task.context}/${task.horizon}`);
      const d = distinctWindows(buildWindows(test, task));
      scores = await session.predict(d.unique);
      index = d.index;
    },
    async exportModel(sample?: ExportSample) {
      if (!session) throw new Error(`${this.name}: exportModel() before fit()`);
      const m = session.model;
      let cases;
      if (sample) {
        const w = headWindows(buildWindows(sample.set, sample.task), sample.count ?? DEFAULT_CASES);
        cases = windowCases(w, await session.predict(w, 'logits'), 'logits');
      }
      return { model: 'interlayer', shape: m.shape, tensors: await tfjsTensors(m), inputs: WINDOW_INPUTS, ...(cases && { cases }) };
    },
    score(ctx: PredictionContext, target: number, out: Float64Array) {
      const l = ctx.layer;
      const u = index.get(windowKey(l, ctx.token, (l - C + 1) * K, C * K));
      if (u === undefined) throw new Error(`${this.name}: window (layer ${l}) was not prepared; call prepare(test) after fit()`);
      const off = (u * H + (target - l - 1)) * E;
      for (let e = 0; e < E; e++) out[e] = scores[off + e];
    },
    dispose() {
      session?.dispose();
      session = null;
    },
  };
}

