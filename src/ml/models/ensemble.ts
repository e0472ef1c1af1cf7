/**
 * The reference design's ensemble: the pattern-based model (InterLayer) and the statistics-aware model, trained
 * separately by the shared loop, their probabilities combined per window and target layer with weights equal to
 * each member's confidence there (the mean of its top-k probabilities): the member that is surer counts more.
 */
import type { TrainingRun } from '../trainingRun';
import type { TaskSpec } from '../../core/tasks/task';
import type { TraceSet, TraceShape } from '../../core/trace/types';
import type { PredictionContext } from '../../core/predictors/types';
import type { InterLayerConfigInput } from '../config';
import type { ExportCases, ExportedModel, ExportSample } from '../exportModel';
import { interLayerPredictor, type LearnedPredictor } from '../interLayerPredictor';
import type { TrainingHooks, TrainingSession, TrainingSummary } from '../trainingSession';
import { modelPredictor } from './modelPredictor';

/** Mean of the k largest values of `p`. */
export function topKMean(p: Float64Array, k: number): number {
  const s = Array.from(p).sort((a, b) => b - a);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += s[i];
  return sum / k;
}

/** Confidence-weighted mean of the members' probabilities, written into `out`. */
export function combineByConfidence(members: Float64Array[], k: number, out: Float64Array): void {
  const w = members.map((p) => topKMean(p, k));
  const total = w.reduce((a, b) => a + b, 0) || 1;
  out.fill(0);
  members.forEach((p, m) => {
    for (let e = 0; e < out.length; e++) out[e] += (w[m] / total) * p[e];
  });
}

export interface EnsembleOptions {
  config?: InterLayerConfigInput;
  hooks?: TrainingHooks;
  log?: (line: string) => void;
  /**
   * Members already built for the same run (`eval --predictor all` trains InterLayer and stats-aware on their own
   * first): one that has finished training when the ensemble is fitted is used as it is, not trained again.
   */
  reuse?: Partial<Record<'interlayer' | 'stats-aware', LearnedPredictor>>;
}

export function ensemblePredictor(shape: TraceShape, opts: EnsembleOptions = {}): LearnedPredictor & { members: LearnedPredictor[] } {
  const members = [
    opts.reuse?.interlayer ?? interLayerPredictor(shape, { config: opts.config, hooks: opts.hooks, name: 'interlayer' }),
    opts.reuse?.['stats-aware'] ?? modelPredictor('stats-aware', shape, { config: opts.config, hooks: opts.hooks, log: opts.log }),
  ];
  const reused = new Set(Object.values(opts.reuse ?? {}));
  const bufs = members.map(() => new Float64Array(shape.numExperts));
  let active: LearnedPredictor | null = null;
  let data: { train: TraceSet; task: TaskSpec } | null = null;
  /** Trains the members from `from` on; stops (leaving `active` set) when one of them is stopped. */
  const trainFrom = async (from: number) => {
    for (let i = from; i < members.length; i++) {
      active = members[i];
      if (reused.has(members[i]) && members[i].session?.state === 'done') {
        opts.log?.(`ensemble: reuses the ${members[i].name} model trained in this run\n`);
        continue;
      }
      await members[i].fit(data!.train, data!.task);
      if (members[i].session?.state !== 'done') return;
    }
    active = null;
  };
  return {
    name: 'ensemble',
    kind: 'learned',
    members,
    /** The training run of the last member trained. */
    get training(): TrainingSummary | null {
      return members[members.length - 1].training;
    },
    /** The session training now (for stop), else the last member's. */
    get session(): TrainingRun | null {
      return (active ?? members[members.length - 1]).session;
    },
    async fit(train: TraceSet, task: TaskSpec) {
      data = { train, task };
      await trainFrom(0);
    },
    async resume(hooks?: TrainingHooks) {
      if (!active?.session || !data) return;
      await active.session.run(hooks);
      if (active.session.state === 'done') await trainFrom(members.indexOf(active) + 1);
    },
    async prepare(test: TraceSet, task: TaskSpec) {
      for (const m of members) await m.prepare(test, task);
    },
    async exportModel(sample?: ExportSample): Promise<ExportedModel> {
      const parts = await Promise.all(
        members.map((m) => {
          if (!m.exportModel) throw new Error(`ensemble: member ${m.name} cannot export`);
          return m.exportModel(sample);
        }),
      );
      const prefix = (m: ExportedModel) => `${m.model}.`;
      const tensors: ExportedModel['tensors'] = {};
      const constants: string[] = [];
      for (const p of parts) {
        for (const [k, t] of Object.entries(p.tensors)) tensors[prefix(p) + k] = t;
        for (const k of p.constants ?? []) constants.push(prefix(p) + k);
      }
      let cases: ExportCases | undefined;
      if (parts.every((p) => p.cases)) {
        // The members' probabilities combined as score() does, window by window and step by step.
        const E = shape.numExperts;
        const n = parts[0].cases!.output.length / E;
        const output: number[] = [];
        const probs = parts.map(() => new Float64Array(E));
        const out = new Float64Array(E);
        for (let i = 0; i < n; i++) {
          parts.forEach((p, m) => {
            for (let e = 0; e < E; e++) probs[m][e] = 1 / (1 + Math.exp(-p.cases!.output[i * E + e]));
          });
          combineByConfidence(probs, shape.topK, out);
          output.push(...out);
        }
        cases = { ...parts[1].cases!, ...parts[0].cases!, outputKind: 'probabilities', output };
      }
      return {
        model: 'ensemble',
        shape: parts[0].shape,
        tensors,
        ...(constants.length && { constants }),
        members: parts.map((p) => ({ model: p.model, shape: p.shape, ...(p.options && { options: p.options }), prefix: prefix(p) })),
        inputs: { ...parts[0].inputs, output: "float [B, H, E]: the members' sigmoid probabilities weighted by their confidence (mean top-k probability)" },
        ...(cases && { cases }),
      };
    },
    score(ctx: PredictionContext, target: number, out: Float64Array) {
      members.forEach((m, i) => m.score(ctx, target, bufs[i]));
      combineByConfidence(bufs, shape.topK, out);
    },
    dispose() {
      for (const m of members) m.dispose();
    },
  };
}
