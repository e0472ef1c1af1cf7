/**
 * The sequence model as a src/core Predictor, for both tasks (net.ts: next layers; tokensNet.ts: next tokens). It
 * scores on demand (the nets are plain TypeScript, so score() runs them synchronously): prepare(test) only builds
 * the test set's token identities, and score() takes the routing from the window's PredictionContext — the current
 * token with its hidden layers at -1, the previous tokens through the view — so it sees what the task allows.
 */
import type { PredictionContext } from '../../core/predictors/types';
import { describeTask, taskKind, visibilityOf, type TaskKind, type TaskSpec } from '../../core/tasks/task';
import type { TraceSet, TraceShape } from '../../core/trace/types';
import { scheduleConfigOf, type InterLayerConfig } from '../config';
import type { LearnedPredictor } from '../interLayerPredictor';
import { buildVocabulary, type Vocabulary } from '../models/vocabulary';
import type { TrainingHooks, TrainingSummary } from '../trainingSession';
import type { ExportSample } from '../exportModel';
import { sequenceExportModel, tokensExportModel } from './export';
import { buildTokenInputs, TOKEN_HISTORY, type TokenInputs } from './inputs';
import { NextTokensNet, type TokensWindow } from './tokensNet';
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
  const { numLayers: L, topK: K } = shape;
  const LK = L * K;
  const Q = 1 + TOKEN_HISTORY;
  let buf = new Float32Array(0);
  let cached = -1;
  let kind: TaskKind = 'layers';
  let fitted: TaskSpec | null = null;
  // Rows: the previous token, the current one, the next one (prefill); only what the window may see is filled in.
  const scratch: TokenInputs = {
    n: 3,
    experts: new Int16Array(3 * LK),
    prev: Int32Array.of(-1, 0, 1),
    next: Int32Array.of(1, -1, -1),
    tokens: new Int32Array(3 * Q),
    chunkStart: [0],
  };
  let win: TokensWindow = { context: new Int16Array(0), tokens: new Int32Array(Q), future: new Int32Array(0) };

  /** The next-tokens window of `row` from what the context shows: tokens t..t-C+1 (all layers), identities. */
  function tokensWindowOf(ctx: PredictionContext, row: number, net: NextTokensNet): void {
    win.context.set(ctx.token, 0);
    for (let c = 1; c < C; c++)
      for (let l = 0; l < L; l++) {
        const ex = ctx.view?.experts(-c, l);
        if (!ex) throw new Error(`${name}: the window at row ${row} has no token ${c} back (the next-tokens task needs ${C} context tokens)`);
        win.context.set(ex, (c * L + l) * K);
      }
    if (test!.tokens.length) win.tokens.set(test!.tokens.subarray(row * Q, (row + 1) * Q));
    for (let h = 0, q = test!.next[row]; h < H; h++, q = q >= 0 ? test!.next[q] : -1)
      win.future[h] = net.shape.future && q >= 0 && test!.tokens.length ? test!.tokens[q * Q] : 0;
  }
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
        opts.log?.(
          `${name}: vocabulary of ${vocabulary.size} token ${vocabulary.source === 'id' ? 'ids' : 'texts'} covering ${(vocabulary.coverage * 100).toFixed(1)}% of the training tokens\n`,
        );
      else opts.log?.(`${name}: the trace records no token ids or text; the model uses routing only\n`);
      trainer = new SequenceTrainer(
        train,
        task,
        { ...scheduleConfigOf(c), hiddenUnits: c.hiddenUnits, weightDecay: c.weightDecay, clipNorm: c.clipNorm, valFraction: c.valFraction, seed: c.seed },
        vocabulary,
      );
      const s = trainer.schedule;
      opts.log?.(
        `${name}: ${trainer.net.parameterCount} parameters; lr ${s.lr} (${s.from.lr}), ${s.epochs} epochs (${s.from.epochs}), batch ${s.batchSize} tokens (${s.from.batchSize}), ` +
          `warm-up ${s.warmupSteps} steps, early stopping after ${s.patience} epochs (${s.from.patience})\n`,
      );
      C = task.context;
      H = task.horizon;
      kind = taskKind(task);
      fitted = task;
      buf = new Float32Array(H * (kind === 'tokens' ? L : 1) * E);
      win = { context: new Int16Array(C * LK), tokens: new Int32Array(Q), future: new Int32Array(H) };
      test = null;
      await trainer.run(opts.hooks);
    },
    async resume(hooks?: TrainingHooks) {
      if (!trainer) throw new Error(`${name}: resume() before fit()`);
      await trainer.run(hooks ?? opts.hooks);
    },
    async prepare(set: TraceSet, task: TaskSpec) {
      if (!trainer) throw new Error(`${name}: prepare() before fit()`);
      if (task.context !== C || task.horizon !== H || taskKind(task) !== kind || visibilityOf(task) !== visibilityOf(fitted!))
        throw new Error(`${name}: fitted for ${describeTask(fitted!)}, asked to score ${describeTask(task)}`);
      // Only the token identities come from the set (t, t-1, t-2; in prefill also the later ones); the routing a
      // window may see comes from its PredictionContext, which hides what the task does not allow.
      test = buildTokenInputs(set, vocabulary);
      cached = -1;
    },
    async exportModel(sample?: ExportSample) {
      const net = trainer?.net;
      if (!net) throw new Error(`${name}: exportModel() before fit()`);
      if (net instanceof NextTokensNet) return tokensExportModel(net, vocabulary, sample);
      return sequenceExportModel(net, vocabulary, sample);
    },
    score(ctx: PredictionContext, target: number, scores: Float64Array) {
      const net = trainer?.net;
      const row = ctx.row;
      if (!net || !test || row === undefined || row >= test.n)
        throw new Error(`${name}: window (row ${row}, layer ${ctx.layer}) was not prepared; call prepare(test) after fit() and score through scorePredictor`);
      if (net instanceof NextTokensNet) {
        if (cached !== row) {
          tokensWindowOf(ctx, row, net);
          net.predict(win, buf);
          cached = row;
        }
        const off = ((ctx.ahead - 1) * L + target) * E;
        for (let e = 0; e < E; e++) scores[e] = buf[off + e];
        return;
      }
      const l = ctx.layer;
      if (l < net.first || l > net.last) throw new Error(`${name}: layer ${l} is outside the windows the model predicts from (${net.first}..${net.last})`);
      const key = row * L + l;
      if (cached !== key) {
        // Up to three tokens: the previous one (fully routed), the current one with its hidden layers at -1 and, in prefill, the next one at layer l.
        scratch.experts.set(ctx.token, LK);
        if (ctx.prev) scratch.experts.set(ctx.prev, 0);
        scratch.prev[1] = ctx.prev ? 0 : -1;
        const next = net.shape.next ? ctx.view?.experts(1, l) : null;
        if (next) scratch.experts.set(next, 2 * LK + l * K);
        scratch.next[1] = next ? 2 : -1;
        if (test.tokens.length) scratch.tokens.set(test.tokens.subarray(row * Q, (row + 1) * Q), Q);
        net.predict(scratch, 1, l, buf);
        cached = key;
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
