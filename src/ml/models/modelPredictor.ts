/**
 * A model of this folder as a src/core Predictor, trained by the shared loop (TrainingSession). The scores of
 * every test window are computed in prepare() (the GPU is read asynchronously, score() is synchronous) and
 * looked up by the token's row and layer, which scorePredictor passes in the context.
 */
import { requireLayersDecode, windowLayers, type TaskSpec } from '../../core/tasks/task';
import type { TraceSet, TraceShape } from '../../core/trace/types';
import type { PredictionContext } from '../../core/predictors/types';
import { parseInterLayerConfig, type InterLayerConfigInput } from '../config';
import { DEFAULT_CASES, headWindows, tfjsTensors, vocabularyOf, windowCases, windowTokenKeys, WINDOW_INPUTS, type ExportSample } from '../exportModel';
import type { LearnedPredictor } from '../interLayerPredictor';
import { TrainingSession, type TrainingHooks, type TrainingSummary } from '../trainingSession';
import { buildModelWindows, type FeatureOptions } from './features';
import { MODEL_DEFS, type ExportedParts, type ModelName } from './registry';

export interface ModelPredictorOptions {
  config?: InterLayerConfigInput;
  hooks?: TrainingHooks;
  name?: string;
  /** What prepare() learned from the training split, e.g. the vocabulary's coverage. */
  log?: (line: string) => void;
}

export function modelPredictor(model: ModelName, shape: TraceShape, opts: ModelPredictorOptions = {}): LearnedPredictor {
  const base = parseInterLayerConfig(opts.config ?? {});
  let session: TrainingSession | null = null;
  let training: TrainingSummary | null = null;
  let features: FeatureOptions = { history: 0 };
  let exported: ExportedParts = {};
  let scores: Float32Array = new Float32Array(0);
  let C = 0;
  let H = 0;
  let first = 0;
  let perToken = 0;
  let rows = 0;
  const E = shape.numExperts;
  const name = opts.name ?? model;
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
      const config = { ...base, context: task.context, horizon: task.horizon };
      const fitted = MODEL_DEFS[model].prepare(train, config);
      if (fitted.note) opts.log?.(`${name}: ${fitted.note}\n`);
      features = fitted.features;
      exported = fitted.exported ?? {};
      session = new TrainingSession(train, config, {
        model: fitted.factory,
        windows: (set, t, keep) => buildModelWindows(set, t, keep, features),
      });
      C = task.context;
      H = task.horizon;
      training = await session.run(opts.hooks);
    },
    async prepare(test: TraceSet, task: TaskSpec) {
      if (!session) throw new Error(`${name}: prepare() before fit()`);
      if (task.context !== C || task.horizon !== H) throw new Error(`${name}: fitted for context ${C}/horizon ${H}, asked to score ${task.context}/${task.horizon}`);
      const w = buildModelWindows(test, task, undefined, features);
      scores = await session.predict(w);
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
        const w = headWindows(buildModelWindows(sample.set, sample.task, undefined, features), sample.count ?? DEFAULT_CASES);
        const { first, last } = windowLayers(sample.set.manifest.numLayers, sample.task);
        cases = windowCases(w, await session.predict(w, 'logits'), 'logits', windowTokenKeys(sample.set, features.vocabulary, last - first + 1, w.count));
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
      if (ctx.row === undefined || ctx.row >= rows || l < first || l - first >= perToken)
        throw new Error(`${name}: window (row ${ctx.row}, layer ${l}) was not prepared; call prepare(test) after fit() and score through scorePredictor`);
      const off = (((ctx.row * perToken + l - first) * H) + (target - l - 1)) * E;
      for (let e = 0; e < E; e++) out[e] = scores[off + e];
    },
    dispose() {
      session?.dispose();
      session = null;
    },
  };
}
