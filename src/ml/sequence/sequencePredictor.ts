/**
 * The sequence model as a src/core Predictor. It scores on demand (the net is plain TypeScript, so score() can
 * run it synchronously): prepare(test) only builds the test set's per-token inputs (token identities, the
 * previous token by position), and score() reads the window's layers l-C+1..l of the current token, the previous
 * token's routing and the identities of tokens t, t-1, t-2 — what the decode task lets a predictor see.
 */
import type { PredictionContext } from '../../core/predictors/types';
import type { TaskSpec } from '../../core/tasks/task';
import type { TraceSet, TraceShape } from '../../core/trace/types';
import { scheduleConfigOf, type InterLayerConfig } from '../config';
import type { LearnedPredictor } from '../interLayerPredictor';
import { buildVocabulary, type Vocabulary } from '../models/vocabulary';
import type { TrainingHooks, TrainingSummary } from '../trainingSession';
import type { ExportSample } from '../exportModel';
import { sequenceExportModel } from './export';
import { buildTokenInputs, type TokenInputs } from './inputs';
import { SequenceTrainer } from './trainer';

export interface SequencePredictorOptions {
  config: InterLayerConfig;
  hooks?: TrainingHooks;
  name?: string;
  log?: (line: string) => void;
}

export function sequencePredictor(shape: TraceShape, opts: SequencePredictorOptions): LearnedPredictor {
  const name = opts.name ?? 'sequence';
  const E = shape.numExperts;
  let trainer: SequenceTrainer | null = null;
  let vocabulary: Vocabulary | null = null;
  let test: TokenInputs | null = null;
  let H = 0;
  let C = 0;
  const out = new Float32Array(0);
  let buf = out;
  let cached = { row: -1, layer: -1 };
  return {
    name,
    kind: 'learned',
    get training(): TrainingSummary | null {
      return trainer?.summary() ?? null;
    },
    get session() {
      return trainer;
    },
    async fit(train: TraceSet, task: TaskSpec) {
      const c = opts.config;
      vocabulary = train.manifest.hasTokenIds || train.manifest.hasTokenText ? buildVocabulary(train, c.vocabSize) : null;
      if (vocabulary)
        opts.log?.(`${name}: vocabulary of ${vocabulary.size} token ${vocabulary.source === 'id' ? 'ids' : 'texts'} covering ${(vocabulary.coverage * 100).toFixed(1)}% of the training tokens\n`);
      else opts.log?.(`${name}: the trace records no token ids or text; the model uses routing only\n`);
      trainer = new SequenceTrainer(train, task, { ...scheduleConfigOf(c), hiddenUnits: c.hiddenUnits, weightDecay: c.weightDecay, clipNorm: c.clipNorm, valFraction: c.valFraction, seed: c.seed }, vocabulary);
      const s = trainer.schedule;
      opts.log?.(
        `${name}: ${trainer.net.parameterCount} parameters; lr ${s.lr} (${s.from.lr}), ${s.epochs} epochs (${s.from.epochs}), batch ${s.batchSize} tokens (${s.from.batchSize}), ` +
          `warm-up ${s.warmupSteps} steps, early stopping after ${s.patience} epochs (${s.from.patience})\n`,
      );
      C = task.context;
      H = task.horizon;
      buf = new Float32Array(H * E);
      test = null;
      await trainer.run(opts.hooks);
    },
    async resume(hooks?: TrainingHooks) {
      if (!trainer) throw new Error(`${name}: resume() before fit()`);
      await trainer.run(hooks ?? opts.hooks);
    },
    async prepare(set: TraceSet, task: TaskSpec) {
      if (!trainer) throw new Error(`${name}: prepare() before fit()`);
      if (task.context !== C || task.horizon !== H) throw new Error(`${name}: fitted for context ${C}/horizon ${H}, asked to score ${task.context}/${task.horizon}`);
      test = buildTokenInputs(set, vocabulary);
      cached = { row: -1, layer: -1 };
    },
    async exportModel(sample?: ExportSample) {
      if (!trainer) throw new Error(`${name}: exportModel() before fit()`);
      return sequenceExportModel(trainer.net, vocabulary, sample);
    },
    score(ctx: PredictionContext, target: number, scores: Float64Array) {
      const l = ctx.layer;
      if (!trainer || !test || ctx.row === undefined || ctx.row >= test.n || l < trainer.net.first || l > trainer.net.last)
        throw new Error(`${name}: window (row ${ctx.row}, layer ${l}) was not prepared; call prepare(test) after fit() and score through scorePredictor`);
      if (cached.row !== ctx.row || cached.layer !== l) {
        trainer.net.predict(test, ctx.row, l, buf);
        cached = { row: ctx.row, layer: l };
      }
      const off = (target - l - 1) * E;
      for (let e = 0; e < E; e++) scores[e] = buf[off + e];
    },
    dispose() {
      trainer?.stop();
      trainer = null;
      test = null;
    },
  };
}
