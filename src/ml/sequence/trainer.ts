/**
 * Trains the sequence model (net.ts) on a training split: seeded shuffles by token, AdamW with linear warm-up and
 * cosine decay, global-norm clipping, validation by sequence after every epoch, early stopping that restores the
 * best epoch, and stop/resume (a stopped run resumed does exactly what an uninterrupted one does).
 *
 * Batches are of tokens; every window of a token (its layers l = C-1..L-1-H) is in the token's batch, so one
 * epoch sees every (token, layer) window once.
 */
import { createRng } from '../../core/experiment/rng';
import { taskKind, visibilityOf, type TaskSpec } from '../../core/tasks/task';
import type { TraceSet } from '../../core/trace/types';
import type { EpochMetrics, SessionState, DoneReason, TrainingHooks, TrainingSummary } from '../trainingSession';
import { validationSplit, type ValidationSplit } from '../windows';
import type { Vocabulary } from '../models/vocabulary';
import { hasTokensWindow } from '../../core/predictors/window';
import { buildTokenInputs, fillTokensWindow, keptRows, TOKEN_HISTORY, type TokenInputs } from './inputs';
import { NextTokensNet, type TokensWindow } from './tokensNet';
import { SequenceNet, topKHits as topKHitsStrict } from './net';
import type { TrainingRun } from '../trainingRun';
import { resolveSchedule, type Schedule, type ScheduleConfig } from '../schedule';

export interface SequenceTrainerConfig extends ScheduleConfig {
  hiddenUnits: number;
  weightDecay: number;
  clipNorm: number;
  valFraction: number;
  seed: number;
}

/** Validation scores at most this many tokens (seeded sample of the held-out sequences' tokens). */
const MAX_VAL_TOKENS = 4000;

/** Learning rate at step s (0-based) of `total`: linear warm-up to `peak`, then cosine to 0 (or constant). */
export function warmupCosine(s: number, total: number, warmup: number, peak: number, schedule: 'cosine' | 'constant'): number {
  if (s < warmup) return (peak * (s + 1)) / warmup;
  if (schedule === 'constant') return peak;
  const t = (s - warmup) / Math.max(1, total - warmup);
  return 0.5 * peak * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

/** Per-(layer, expert) log-frequency of the given rows (add-one smoothed), the net's starting bias. */
function logFrequency(x: TokenInputs, rows: Int32Array, L: number, E: number, K: number): Float32Array {
  const counts = new Float64Array(L * E).fill(1);
  for (const r of rows) for (let l = 0; l < L; l++) for (let j = 0; j < K; j++) counts[l * E + x.experts[(r * L + l) * K + j]]++;
  const out = new Float32Array(L * E);
  for (let l = 0; l < L; l++) {
    let sum = 0;
    for (let e = 0; e < E; e++) sum += counts[l * E + e];
    for (let e = 0; e < E; e++) out[l * E + e] = Math.log(counts[l * E + e] / sum);
  }
  return out;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

export class SequenceTrainer implements TrainingRun {
  /** The next-layers net (net.ts) or the next-tokens net (tokensNet.ts), by the task. */
  readonly net: SequenceNet | NextTokensNet;
  readonly config: SequenceTrainerConfig & TaskSpec;
  readonly schedule: Schedule;
  readonly inputs: TokenInputs;
  private readonly split: ValidationSplit;
  private readonly trainRows: Int32Array;
  private readonly valRows: Int32Array;
  private readonly stepsPerEpoch: number;
  private readonly totalSteps: number;
  private _state: SessionState = 'ready';
  private doneReason: DoneReason | null = null;
  private stopRequested = false;
  private _epoch = 0;
  private _step = 0;
  /** Batch index within the current epoch, and the epoch's token order. */
  private batchInEpoch = 0;
  private order: Int32Array | null = null;
  private epochLoss = 0;
  private epochHits: Float64Array;
  private epochWindows = 0;
  private epochSeconds = 0;
  private readonly history: EpochMetrics[] = [];
  private best: { epoch: number; score: number; params: Float32Array } | null = null;
  private sinceBest = 0;
  /** Wall time spent in training steps (not validation), for samples per second. */
  trainSeconds = 0;
  /** Next-tokens task: a window's inputs and targets, refilled per row. */
  private readonly win: TokensWindow;
  private readonly targets: Int16Array;

  constructor(train: TraceSet, task: TaskSpec, config: SequenceTrainerConfig, vocabulary: Vocabulary | null) {
    const { numLayers: L, numExperts: E, topK: K } = train.manifest;
    this.config = { ...config, ...task };
    this.inputs = buildTokenInputs(train, vocabulary);
    this.split = validationSplit(train, config.valFraction, config.seed);
    // Next tokens: only rows with the full context and horizon in their sequence are windows.
    const windows = (rows: Int32Array) =>
      taskKind(task) === 'tokens' ? rows.filter((r) => hasTokensWindow(this.inputs, r, task.context, task.horizon)) : rows;
    this.trainRows = windows(keptRows(this.inputs, train, this.split.train));
    let val = this.split.val ? windows(keptRows(this.inputs, train, this.split.val)) : new Int32Array(0);
    if (val.length > MAX_VAL_TOKENS) {
      const rnd = createRng(config.seed ^ 0x7a11);
      const a = Array.from(val);
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      val = Int32Array.from(a.slice(0, MAX_VAL_TOKENS)).sort();
    }
    this.valRows = val;
    const common = {
      numLayers: L,
      numExperts: E,
      topK: K,
      context: task.context,
      horizon: task.horizon,
      hidden: config.hiddenUnits,
      vocab: vocabulary?.size ?? 0,
    };
    const freq = logFrequency(this.inputs, this.trainRows, L, E, K);
    const net =
      taskKind(task) === 'tokens'
        ? new NextTokensNet({ ...common, future: visibilityOf(task) === 'prefill' }, config.seed, freq)
        : new SequenceNet({ ...common, next: visibilityOf(task) === 'prefill' }, config.seed, freq);
    this.win = { context: new Int16Array(task.context * L * K), tokens: new Int32Array(1 + TOKEN_HISTORY), future: new Int32Array(task.horizon) };
    this.targets = new Int16Array(task.horizon * L * K);
    this.net = net;
    if (!this.trainRows.length || net.windowsPerToken < 1) throw new Error('the training set has no windows (too few tokens or layers)');
    this.schedule = resolveSchedule(config, {
      trainTokens: this.trainRows.length,
      windowsPerToken: net.windowsPerToken,
      hasValidation: this.valRows.length > 0,
    });
    this.stepsPerEpoch = Math.ceil(this.trainRows.length / this.schedule.batchTokens);
    this.totalSteps = this.stepsPerEpoch * this.schedule.epochs;
    this.epochHits = new Float64Array(task.horizon);
  }

  get state(): SessionState {
    return this._state;
  }

  stop(): void {
    if (this._state !== 'done') this.stopRequested = true;
  }

  summary(): TrainingSummary {
    return {
      state: this._state,
      doneReason: this.doneReason,
      epochsRun: this._epoch,
      step: this._step,
      totalSteps: this.totalSteps,
      history: [...this.history],
      bestEpoch: this.best?.epoch ?? null,
      trainWindows: this.trainRows.length * this.net.windowsPerToken,
      valWindows: this.valRows.length * this.net.windowsPerToken,
      validation: this.split.how,
      trainingPath: 'cpu',
    };
  }

  async run(hooks: TrainingHooks = {}): Promise<TrainingSummary> {
    if (this._state === 'done' || this._state === 'running') return this.summary();
    this.stopRequested = false;
    this._state = 'running';
    const { horizon: H } = this.config;
    const perToken = this.net.windowsPerToken;
    const B = this.schedule.batchTokens;
    let lastYield = now();
    while (this._epoch < this.schedule.epochs) {
      if (!this.order) {
        this.order = this.shuffled(this._epoch);
        this.batchInEpoch = 0;
        this.epochLoss = 0;
        this.epochHits = new Float64Array(H);
        this.epochWindows = 0;
        this.epochSeconds = 0;
      }
      while (this.batchInEpoch < this.stepsPerEpoch) {
        if (this.stopRequested) {
          this._state = 'stopped';
          return this.summary();
        }
        const t0 = now();
        const from = this.batchInEpoch * B;
        const rows = this.order.subarray(from, Math.min(from + B, this.order.length));
        const scale = 1 / (rows.length * perToken * H);
        for (const r of rows) this.epochLoss += this.accumulate(r, scale);
        this.epochWindows += rows.length * perToken;
        const lr = warmupCosine(this._step, this.totalSteps, this.schedule.warmupSteps, this.schedule.lr, this.config.lrSchedule);
        this.net.step(lr, this.config.weightDecay, this.config.clipNorm);
        this._step++;
        this.batchInEpoch++;
        const dt = (now() - t0) / 1000;
        this.epochSeconds += dt;
        this.trainSeconds += dt;
        if (now() - lastYield > 100) {
          hooks.onProgress?.({
            epoch: this._epoch + 1,
            step: this._step,
            totalSteps: this.totalSteps,
            trainLoss: this.epochLoss / Math.max(1, this.epochWindows * H),
          });
          await yieldToEvents();
          lastYield = now();
        }
      }
      const t0 = now();
      const val = this.valRows.length ? this.validate() : null;
      this.epochSeconds += (now() - t0) / 1000;
      this._epoch++;
      this.order = null;
      const m: EpochMetrics = {
        epoch: this._epoch,
        step: this._step,
        lr: warmupCosine(this._step - 1, this.totalSteps, this.schedule.warmupSteps, this.schedule.lr, this.config.lrSchedule),
        trainLoss: this.epochLoss / Math.max(1, this.epochWindows * H),
        trainRecall: Array.from(this.epochHits, (h) => h / Math.max(1, this.epochWindows)),
        valLoss: val?.loss ?? null,
        valRecall: val?.recall ?? null,
        seconds: this.epochSeconds,
        samplesPerSecond: this.epochWindows / Math.max(1e-9, this.epochSeconds),
      };
      this.history.push(m);
      hooks.onEpoch?.(m);
      if (val) {
        const score = val.recall.reduce((a, b) => a + b, 0) / val.recall.length;
        if (!this.best || score > this.best.score) {
          this.best = { epoch: this._epoch, score, params: this.net.snapshot() };
          this.sinceBest = 0;
        } else if (this.schedule.patience > 0 && ++this.sinceBest >= this.schedule.patience) {
          this.doneReason = 'early-stopping';
          break;
        }
      }
      await yieldToEvents();
      lastYield = now();
    }
    if (!this.doneReason) this.doneReason = 'epochs';
    if (this.best && this.best.epoch !== this._epoch) this.net.restore(this.best.params);
    this._state = 'done';
    return this.summary();
  }

  /** Adds the gradient of row r's windows; returns their loss. */
  private accumulate(r: number, scale: number): number {
    const net = this.net;
    if (net instanceof SequenceNet) return net.accumulate(this.inputs, r, scale, this.epochHits);
    this.fillWindow(r);
    return net.accumulate(this.win, this.targets, scale, this.epochHits);
  }

  /** The next-tokens window of row r and its targets, into this.win and this.targets. */
  fillWindow(r: number): void {
    const s = this.net.shape;
    fillTokensWindow(
      this.inputs,
      r,
      s.numLayers,
      s.topK,
      s.context,
      s.horizon,
      this.net instanceof NextTokensNet && this.net.shape.future,
      this.win,
      this.targets,
    );
  }

  /** Mean loss per (window, step) and recall@k per step on the validation tokens. */
  private validate(): { loss: number; recall: number[] } {
    const { numLayers: L, numExperts: E, topK: K, horizon: H } = this.net.shape;
    const recall = new Float64Array(H);
    let loss = 0;
    let n = 0;
    const add = (h: number, s: Float32Array, truth: Int16Array, off: number) => {
      recall[h] += topKHitsStrict(s, truth, off, K) / K;
      let max = -Infinity;
      for (let e = 0; e < E; e++) if (s[e] > max) max = s[e];
      let sum = 0;
      for (let e = 0; e < E; e++) sum += Math.exp(s[e] - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < K; j++) loss -= (s[truth[off + j]] - lse) / K;
    };
    const net = this.net;
    if (net instanceof SequenceNet) {
      const out = new Float32Array(H * E);
      for (const r of this.valRows)
        for (let l = net.first; l <= net.last; l++, n++) {
          net.predict(this.inputs, r, l, out);
          for (let h = 0; h < H; h++) add(h, out.subarray(h * E, (h + 1) * E), this.inputs.experts, (r * L + l + 1 + h) * K);
        }
    } else {
      const out = new Float32Array(H * L * E);
      for (const r of this.valRows) {
        this.fillWindow(r);
        net.predict(this.win, out);
        for (let tau = 0; tau < L; tau++, n++)
          for (let h = 0; h < H; h++) add(h, out.subarray((h * L + tau) * E, (h * L + tau + 1) * E), this.targets, (h * L + tau) * K);
      }
    }
    return { loss: loss / Math.max(1, n * H), recall: Array.from(recall, (x) => x / Math.max(1, n)) };
  }

  private shuffled(epoch: number): Int32Array {
    const a = this.trainRows.slice();
    const rnd = createRng((this.config.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
