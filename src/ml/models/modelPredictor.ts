/**
 * The one adapter from a learned tfjs model (InterLayer, ../interLayerModel.ts, and the models of this folder) to
 * a src/core Predictor, trained by the shared loop (TrainingSession). A model is its registry entry
 * (registry.ts): what it takes from the training split, its inputs, its export parts; this file does the rest.
 *
 * score() is synchronous and the GPU can only be read asynchronously, so prepare(test) computes the scores of
 * every test window in batches and score() looks them up: by the token's row and layer (which scorePredictor
 * passes in the context), or, for a model whose output depends only on the window's content (InterLayer: its
 * context experts and layers), by that content, over the distinct windows only, whatever order score() is called in.
 */
import { requireLayersDecode, windowLayers, type TaskSpec } from '../../core/tasks/task';
import type { TraceSet, TraceShape } from '../../core/trace/types';
import type { PredictionContext } from '../../core/predictors/types';
import { parseInterLayerConfig, type InterLayerConfigInput } from '../config';
import { DEFAULT_CASES, headWindows, tfjsTensors, vocabularyOf, windowCases, windowTokenKeys, WINDOW_INPUTS, type ExportSample } from '../exportModel';
import type { LearnedPredictor } from '../interLayerPredictor';
import { TrainingSession, type TrainingHooks, type TrainingSummary } from '../trainingSession';
import { buildWindows, type RowFilter, type Windows } from '../windows';
import { buildModelWindows, type FeatureOptions } from './features';
import { modelDef, type ExportedParts, type ModelName } from './registry';

export interface ModelPredictorOptions {
  config?: InterLayerConfigInput;
  hooks?: TrainingHooks;
  name?: string;
  /** What prepare() learned from the training split, e.g. the vocabulary's coverage. */
  log?: (line: string) => void;
}

/** Content key of a window: last context layer, then the context layers' experts. */
function windowKey(layer: number, experts: ArrayLike<number>, from: number, count: number): string {
  let k = String(layer);
  for (let i = 0; i < count; i++) k += ',' + experts[from + i];
  return k;
}

/** Keeps the first window of each distinct content (windows without extra inputs). */
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

export function modelPredictor(model: ModelName | (string & {}), shape: TraceShape, opts: ModelPredictorOptions = {}): LearnedPredictor {
  const def = modelDef(model);
  if (!def) throw new Error(`no model named ${model} in the registry (src/ml/models/registry.ts)`);
  const base = parseInterLayerConfig(opts.config ?? {});
  let session: TrainingSession | null = null;
  let training: TrainingSummary | null = null;
  let features: FeatureOptions = { history: 0 };
  let exported: ExportedParts = {};
  let byContent = false;
  let scores: Float32Array = new Float32Array(0);
  let index = new Map<string, number>();
  let C = 0;
  let H = 0;
  let first = 0;
  let perToken = 0;
  let rows = 0;
  const E = shape.numExperts;
  const K = shape.topK;
  const name = opts.name ?? model;
  /** The model's windows: InterLayer's own (buildWindows) or with the extra inputs of this folder's models. */
  const windowsOf = (set: TraceSet, task: TaskSpec, keep?: RowFilter): Windows =>
    byContent ? buildWindows(set, task, keep) : buildModelWindows(set, task, keep, features);
  return {
    name,
    kind: 'learned',
    get training() {
      return training;
    },
    get session() {
      return session;
    },
    async fit(train: TraceSet, task: TaskSpec) {
      requireLayersDecode(task, name);
      session?.dispose();
      session = null;
      scores = new Float32Array(0);
      index = new Map();
      const config = { ...base, context: task.context, horizon: task.horizon };
      const fitted = def.prepare(train, config);
      if (fitted.note) opts.log?.(`${name}: ${fitted.note}\n`);
      features = fitted.features;
      exported = fitted.exported ?? {};
      byContent = fitted.keyedByContent === true;
      // Without a factory the session builds InterLayer itself (and may train it with the fused WebGPU step).
      session = new TrainingSession(train, config, fitted.factory ? { model: fitted.factory, windows: windowsOf } : {});
      C = task.context;
      H = task.horizon;
      training = await session.run(opts.hooks);
    },
    async prepare(test: TraceSet, task: TaskSpec) {
      if (!session) throw new Error(`${name}: prepare() before fit()`);
      if (task.context !== C || task.horizon !== H)
        throw new Error(`${name}: fitted for context ${C}/horizon ${H}, asked to score ${task.context}/${task.horizon}`);
      if (byContent) {
        const d = distinctWindows(buildWindows(test, task));
        scores = await session.predict(d.unique);
        index = d.index;
        return;
      }
      scores = await session.predict(windowsOf(test, task));
      const { first: f, last } = windowLayers(test.manifest.numLayers, task);
      first = f;
      perToken = last - f + 1;
      rows = test.chunks.reduce((a, c) => a + c.tokens, 0);
    },
    async exportModel(sample?: ExportSample) {
      if (!session) throw new Error(`${name}: exportModel() before fit()`);
      const m = session.model;
      const constants = exported.constants ?? {};
      let cases;
      if (sample) {
        const w = headWindows(windowsOf(sample.set, sample.task), sample.count ?? DEFAULT_CASES);
        const { first: f, last } = windowLayers(sample.set.manifest.numLayers, sample.task);
        cases = windowCases(w, await session.predict(w, 'logits'), 'logits', windowTokenKeys(sample.set, features.vocabulary, last - f + 1, w.count));
      }
      return {
        model,
        shape: m.shape,
        ...(exported.options && { options: exported.options }),
        tensors: { ...(await tfjsTensors(m)), ...constants },
        ...(Object.keys(constants).length && { constants: Object.keys(constants) }),
        ...(features.vocabulary && { vocabulary: vocabularyOf(features.vocabulary) }),
        inputs: WINDOW_INPUTS,
        ...(cases && { cases }),
      };
    },
    score(ctx: PredictionContext, target: number, out: Float64Array) {
      const l = ctx.layer;
      let off: number;
      if (byContent) {
        const u = index.get(windowKey(l, ctx.token, (l - C + 1) * K, C * K));
        if (u === undefined) throw new Error(`${name}: window (layer ${l}) was not prepared; call prepare(test) after fit()`);
        off = (u * H + (target - l - 1)) * E;
      } else {
        if (ctx.row === undefined || ctx.row >= rows || l < first || l - first >= perToken)
          throw new Error(`${name}: window (row ${ctx.row}, layer ${l}) was not prepared; call prepare(test) after fit() and score through scorePredictor`);
        off = ((ctx.row * perToken + l - first) * H + (target - l - 1)) * E;
      }
      for (let e = 0; e < E; e++) out[e] = scores[off + e];
    },
    dispose() {
      session?.dispose();
      session = null;
    },
  };
}
