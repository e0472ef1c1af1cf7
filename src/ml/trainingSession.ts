/**
 * Trains an InterLayer model on a trace set: seeded init and shuffling, AdamW with cosine annealing and
 * global-norm clipping, dropout, per-epoch train and validation metrics, early stopping, and stop/resume.
 *
 * Everything a run depends on (batch order, dropout masks, learning rate) is a function of (seed, step), so a
 * run that is stopped and resumed does exactly what an uninterrupted one does. Values come back from the device
 * only every `syncEvery` steps and at the end of an epoch, never per step.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../core/experiment/rng';
import type { TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';
import { AdamW, cosineLr } from './adamw';
import { parseInterLayerConfig, type InterLayerConfig, type InterLayerConfigInput } from './config';
import { bceWithLogits, InterLayerModel, multiHot, ownedVariable, recallHits, type BatchTensors } from './interLayerModel';
import { buildWindows, validationSplit, type RowFilter, type ValidationSplit, type Windows } from './windows';
import type { ModelFactory } from './models/speculationModel';
import { activeWebGpuBackend, FusedInterLayerTrainer } from './fused/fusedTrainer';
import { resolveSchedule, type Schedule } from './schedule';
import { scheduleConfigOf } from './config';
import { taskOfConfig, windowsPerToken } from '../core/tasks/task';
import type { TrainingRun } from './trainingRun';

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  /** Optimizer steps done so far. */
  step: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  trainLoss: number;
  /** Recall@k per horizon step on the training batches (with dropout on, as trained). */
  trainRecall: number[];
  /** null when there is no validation split. */
  valLoss: number | null;
  valRecall: number[] | null;
  /** Wall time of the epoch (training and validation), in seconds. */
  seconds: number;
  samplesPerSecond: number;
}

export interface StepProgress {
  epoch: number;
  step: number;
  totalSteps: number;
  /** Mean training loss of the epoch so far. */
  trainLoss: number;
}

export type SessionState = 'ready' | 'running' | 'stopped' | 'done';
export type DoneReason = 'epochs' | 'early-stopping';

export interface TrainingHooks {
  onEpoch?(m: EpochMetrics): void;
  onProgress?(p: StepProgress): void;
}

export interface TrainingSummary {
  state: SessionState;
  doneReason: DoneReason | null;
  epochsRun: number;
  step: number;
  totalSteps: number;
  history: EpochMetrics[];
  /** Epoch (1-based) whose weights the model holds after early stopping restored the best; else the last. */
  bestEpoch: number | null;
  trainWindows: number;
  valWindows: number;
  validation: ValidationSplit['how'];
  /** 'fused': the WGSL training step of src/ml/fused; 'tfjs': tfjs ops and autodiff; 'cpu': the plain-TypeScript engine (src/ml/sequence). */
  trainingPath: 'fused' | 'tfjs' | 'cpu';
}

/** Windows uploaded to the device (ids as float32). */
export interface DeviceWindows {
  n: number;
  ctxExperts: tf.Tensor2D;
  ctxLayers: tf.Tensor2D;
  targetLayers: tf.Tensor2D;
  targets: tf.Tensor2D;
  /** Windows.extra as int32 tensors [n, width]. */
  extra?: Record<string, tf.Tensor2D>;
}

/** Windows.extra rows [start, start+size) as int32 tensors. */
function uploadExtra(w: Windows, start = 0, size = w.count): Record<string, tf.Tensor2D> {
  const out: Record<string, tf.Tensor2D> = {};
  for (const [k, { data, width }] of Object.entries(w.extra ?? {}))
    out[k] = tf.tensor2d(data.subarray(start * width, (start + size) * width), [size, width], 'int32');
  return out;
}

function upload(w: Windows): DeviceWindows {
  const { count: n, context: C, horizon: H, topK: K } = w;
  return {
    n,
    // Ids as float32: see BatchTensors in interLayerModel.ts.
    ctxExperts: tf.tensor2d(Float32Array.from(w.ctxExperts), [n, C * K]),
    ctxLayers: tf.tensor2d(Float32Array.from(w.ctxLayers), [n, C]),
    targetLayers: tf.tensor2d(Float32Array.from(w.targetLayers), [n, H]),
    targets: tf.tensor2d(Float32Array.from(w.targets), [n, H * K]),
    extra: uploadExtra(w),
  };
}

function disposeWindows(d: DeviceWindows): void {
  tf.dispose([d.ctxExperts, d.ctxLayers, d.targetLayers, d.targets, ...Object.values(d.extra ?? {})]);
}

/** A uint32 mixed from the run seed and a counter, for per-epoch shuffles and per-step dropout seeds. */
function derive(seed: number, what: number, i: number): number {
  return Math.floor(createRng((seed ^ Math.imul(what, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0)() * 2 ** 32);
}

export interface SessionOptions {
  /** Read the running loss back (and yield to the event loop, so stop() can arrive) every N steps (default: ~10 per epoch, ≤ 50). */
  syncEvery?: number;
  /** Batch size of validation and prediction passes (no gradients, so larger than training's). */
  evalBatchSize?: number;
  /** Another model than InterLayer (src/ml/models): built from the same shape and seed, trained by this loop. */
  model?: ModelFactory;
  /** The windows that model takes (with its extra inputs); default buildWindows. */
  windows?: (set: TraceSet, task: TaskSpec, keep?: RowFilter) => Windows;
}

/** Validation passes score at most this many tokens (a seeded sample of whole held-out sequences). */
const MAX_VAL_TOKENS = 4000;

function countRows(set: TraceSet, keep: RowFilter): number {
  let n = 0;
  set.chunks.forEach((c, ci) => {
    for (let t = 0; t < c.tokens; t++) if (keep(ci, t)) n++;
  });
  return n;
}

/** Rows of `keep` restricted to whole sequences drawn in a seeded order until about `maxTokens` tokens. */
function sampledRows(set: TraceSet, keep: RowFilter, maxTokens: number, seed: number): RowFilter {
  const sizes = new Map<number, number>();
  set.chunks.forEach((c, ci) => {
    for (let t = 0; t < c.tokens; t++) if (keep(ci, t)) sizes.set(c.seq[t], (sizes.get(c.seq[t]) ?? 0) + 1);
  });
  const seqs = [...sizes.keys()].sort((a, b) => a - b);
  const rnd = createRng(seed ^ 0x5a3c9e1);
  for (let i = seqs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [seqs[i], seqs[j]] = [seqs[j], seqs[i]];
  }
  const chosen = new Set<number>();
  let n = 0;
  for (const q of seqs) {
    if (n >= maxTokens) break;
    chosen.add(q);
    n += sizes.get(q)!;
  }
  return (ci, t) => keep(ci, t) && chosen.has(set.chunks[ci].seq[t]);
}

export class TrainingSession implements TrainingRun {
  readonly config: InterLayerConfig;
  /** Learning rate, epochs, batch size and patience as resolved from the config and the data (schedule.ts). */
  readonly schedule: Schedule;
  readonly model: InterLayerModel;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly history: EpochMetrics[] = [];
  readonly split: ValidationSplit;
  private readonly optimizer: AdamW;
  private readonly train: DeviceWindows;
  private readonly val: DeviceWindows | null;
  private readonly syncEvery: number;
  private readonly evalBatchSize: number;

  private _step = 0;
  /** Epochs fully done. */
  private _epoch = 0;
  /** Position inside the current epoch (batches done), and its accumulators, kept across stop/resume. */
  private batchInEpoch = 0;
  private perm: tf.Tensor1D | null = null;
  private lossSum: tf.Variable | null = null;
  private hitSum: tf.Variable | null = null;
  private epochSeconds = 0;
  private _state: SessionState = 'ready';
  private stopRequested = false;
  private doneReason: DoneReason | null = null;
  private best: { loss: number; epoch: number; weights: tf.Tensor[] } | null = null;
  private bestEpoch: number | null = null;
  private sinceBest = 0;
  /** The fused WGSL training step (WebGPU backend, config.fusedTraining); null: tfjs ops. */
  private fused: FusedInterLayerTrainer | null = null;
  private fusedChecked = false;
  /** Why the fused step was not used although asked for (it failed to compile), else null. */
  fusedFallback: string | null = null;

  /** Builds the windows (context and horizon from `config`), splits off validation by sequence, uploads, inits. */
  constructor(trainSet: TraceSet, config: InterLayerConfigInput, opts: SessionOptions = {}) {
    this.config = parseInterLayerConfig(config);
    const c = this.config;
    const task: TaskSpec = taskOfConfig(c);
    const { numLayers, numExperts, topK } = trainSet.manifest;
    this.split = validationSplit(trainSet, c.valFraction, c.seed);
    const windows = opts.windows ?? buildWindows;
    const trainTokens = countRows(trainSet, this.split.train);
    this.schedule = resolveSchedule(
      scheduleConfigOf(c),
      { trainTokens, windowsPerToken: windowsPerToken(numLayers, task), hasValidation: this.split.val !== null },
      'windows',
    );
    // Under `auto` a large set trains on a seeded sample of whole training sequences (the schedule's budget).
    const trainKeep =
      trainTokens > this.schedule.maxTrainTokens ? sampledRows(trainSet, this.split.train, this.schedule.maxTrainTokens, c.seed) : this.split.train;
    const trainW = windows(trainSet, task, trainKeep);
    if (!trainW.count) throw new Error('the training set has no windows (too few tokens or layers)');
    const valKeep =
      this.split.val && this.split.valTokens > MAX_VAL_TOKENS ? sampledRows(trainSet, this.split.val, MAX_VAL_TOKENS, c.seed ^ 0x7a11) : this.split.val;
    const valW = valKeep ? windows(trainSet, task, valKeep) : null;
    this.evalBatchSize = opts.evalBatchSize ?? 1024;
    const batchSize = this.schedule.batchSize;
    this.stepsPerEpoch = Math.ceil(trainW.count / batchSize);
    // About ten progress reports per epoch, and at least every 50 steps (how long a stop() may wait).
    this.syncEvery = opts.syncEvery ?? Math.min(50, Math.ceil(this.stepsPerEpoch / 10));
    this.totalSteps = this.stepsPerEpoch * this.schedule.epochs;
    const shape = { numLayers, numExperts, topK, ...task, embeddingDim: c.embeddingDim, hiddenUnits: c.hiddenUnits, layerSpecificHeads: c.layerSpecificHeads };
    // Other models have InterLayer's public surface (params, forward, readWeights, dispose); see speculationModel.ts.
    this.model = opts.model ? (opts.model(shape, c.seed) as unknown as InterLayerModel) : new InterLayerModel(shape, c.seed);
    this.optimizer = new AdamW(this.model.params, { weightDecay: c.weightDecay, clipNorm: c.clipNorm });
    this.train = upload(trainW);
    this.val = valW && valW.count ? upload(valW) : null;
    const gpu = c.fusedTraining && !opts.model ? activeWebGpuBackend() : null;
    if (gpu)
      this.fused = new FusedInterLayerTrainer(gpu, this.model.shape, this.train, {
        batchSize,
        weightDecay: c.weightDecay,
        clipNorm: c.clipNorm,
        dropout: c.dropout,
      });
  }

  /** How training steps run: 'fused' (one WGSL command buffer per step) or 'tfjs' (tfjs ops and autodiff). */
  get trainingPath(): 'fused' | 'tfjs' {
    return this.fused ? 'fused' : 'tfjs';
  }

  /** The running loss sum of the epoch (one small read). */
  private async readLossSum(): Promise<number> {
    return this.fused ? (await this.fused.readStats()).lossSum : (await this.lossSum!.data())[0];
  }

  get step(): number {
    return this._step;
  }
  get epoch(): number {
    return this._epoch;
  }
  get state(): SessionState {
    return this._state;
  }

  /** Asks a running session to stop after the current step; run() then resolves with state 'stopped'. */
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
      bestEpoch: this.bestEpoch,
      trainWindows: this.train.n,
      valWindows: this.val?.n ?? 0,
      validation: this.split.how,
      trainingPath: this.trainingPath,
    };
  }

  /** Trains until all epochs are done, early stopping ends it, or stop() is called; call again to resume. */
  async run(hooks: TrainingHooks = {}): Promise<TrainingSummary> {
    if (this._state === 'done' || this._state === 'running') return this.summary();
    this.stopRequested = false;
    // `state` changes inside epoch_(); read it through the getter so the check is not narrowed away.
    while (this.state !== 'done') {
      // A stop() that arrived while the last epoch was validating takes effect here, between epochs.
      if (this.stopRequested) {
        this._state = 'stopped';
        break;
      }
      if (!(await this.epoch_(hooks))) break; // stopped mid-epoch
    }
    return this.summary();
  }

  /**
   * Runs (or finishes, after a stop) one epoch. Resolves with its metrics, or null when stopped before its end
   * or when training is already done.
   */
  async runEpoch(hooks: TrainingHooks = {}): Promise<EpochMetrics | null> {
    if (this._state === 'done' || this._state === 'running') return null;
    this.stopRequested = false;
    return this.epoch_(hooks);
  }

  private async epoch_(hooks: TrainingHooks): Promise<EpochMetrics | null> {
    this._state = 'running';
    try {
      const c = this.config;
      if (this.fused && !this.fusedChecked) {
        this.fusedChecked = true;
        const err = await this.fused.ready;
        if (err) {
          this.fused.dispose();
          this.fused = null;
          this.fusedFallback = err;
        }
      }
      if (this.batchInEpoch === 0) this.beginEpoch();
      // The fused step trains its own copy of the weights: take the model's (they may have been restored or
      // edited since), and give them back whenever this loop stops.
      this.fused?.loadParams(this.model);
      const t0 = performance.now();
      const n = this.train.n;
      while (this.batchInEpoch < this.stepsPerEpoch) {
        if (this.stopRequested) {
          this.fused?.storeParams(this.model);
          this.epochSeconds += (performance.now() - t0) / 1000;
          this._state = 'stopped';
          return null;
        }
        const start = this.batchInEpoch * this.schedule.batchSize;
        this.trainStep(start, Math.min(this.schedule.batchSize, n - start));
        this.batchInEpoch++;
        this._step++;
        if (this._step % this.syncEvery === 0) {
          // One small read: bounds the device's queue and reports progress. Then a macrotask turn, so that
          // messages (a stop() from the page) get through: on CPU/WASM the read resolves as a microtask.
          const loss = await this.readLossSum();
          await new Promise((resolve) => setTimeout(resolve, 0));
          hooks.onProgress?.({
            epoch: this._epoch + 1,
            step: this._step,
            totalSteps: this.totalSteps,
            trainLoss: loss / Math.min(n, this.batchInEpoch * this.schedule.batchSize),
          });
        }
      }
      let lossSum: ArrayLike<number>;
      let hits: ArrayLike<number>;
      if (this.fused) {
        const st = await this.fused.readStats();
        this.fused.storeParams(this.model);
        [lossSum, hits] = [[st.lossSum], st.hits];
      } else {
        [lossSum, hits] = await Promise.all([this.lossSum!.data(), this.hitSum!.data()]);
      }
      const valResult = this.val ? await this.evaluate(this.val) : null;
      this.epochSeconds += (performance.now() - t0) / 1000;
      const m: EpochMetrics = {
        epoch: this._epoch + 1,
        step: this._step,
        lr: this.lrAt(this._step - 1),
        trainLoss: lossSum[0] / n,
        trainRecall: Array.from(hits, (h) => h / n),
        valLoss: valResult?.loss ?? null,
        valRecall: valResult?.recall ?? null,
        seconds: this.epochSeconds,
        samplesPerSecond: n / this.epochSeconds,
      };
      this.endEpoch();
      this.history.push(m);
      this._epoch++;
      this.bestEpoch = this._epoch;
      await this.earlyStopping(m);
      if (this._epoch >= this.schedule.epochs && !this.doneReason) this.doneReason = 'epochs';
      this._state = this.doneReason ? 'done' : 'ready';
      hooks.onEpoch?.(m);
      return m;
    } catch (e) {
      this._state = 'ready';
      throw e;
    }
  }

  private lrAt(step: number): number {
    const lr = this.schedule.lr;
    return this.config.lrSchedule === 'cosine' ? cosineLr(lr, step, this.totalSteps) : lr;
  }

  private beginEpoch(): void {
    // Seeded Fisher–Yates shuffle of the window indices, uploaded once per epoch.
    const n = this.train.n;
    const rnd = createRng(derive(this.config.seed, 1, this._epoch));
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    this.perm = tf.tensor1d(p, 'int32');
    this.fused?.beginEpoch(p);
    this.lossSum = ownedVariable(tf.scalar(0), false);
    this.hitSum = ownedVariable(tf.zeros([this.config.horizon]), false);
    this.epochSeconds = 0;
  }

  private endEpoch(): void {
    tf.dispose([this.perm!, this.lossSum!, this.hitSum!]);
    this.perm = this.lossSum = this.hitSum = null;
    this.batchInEpoch = 0;
  }

  private gatherBatch(d: DeviceWindows, idx: tf.Tensor1D): BatchTensors & { targets: tf.Tensor2D } {
    return {
      ctxExperts: tf.gather(d.ctxExperts, idx),
      ctxLayers: tf.gather(d.ctxLayers, idx),
      targetLayers: tf.gather(d.targetLayers, idx),
      targets: tf.gather(d.targets, idx),
      extra: Object.fromEntries(Object.entries(d.extra ?? {}).map(([k, t]) => [k, tf.gather(t, idx)])),
    };
  }

  private trainStep(start: number, size: number): void {
    const { numExperts: E, topK: K, horizon: H } = this.model.shape;
    const lr = this.lrAt(this._step);
    const dropout = { rate: this.config.dropout, seed: derive(this.config.seed, 2, this._step) };
    if (this.fused) {
      this.fused.step(start, size, lr, dropout.seed);
      return;
    }
    tf.tidy(() => {
      const batch = this.gatherBatch(this.train, this.perm!.slice(start, size));
      const labels = multiHot(batch.targets, H, E);
      // The recall of this batch comes out of the forward pass that the gradient needs anyway.
      const kept: { hits?: tf.Tensor } = {};
      const vars = this.model.variables;
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.model.forward(batch, dropout);
        kept.hits = tf.keep(recallHits(logits, labels, K));
        return bceWithLogits(logits, labels);
      }, vars);
      this.optimizer.apply(
        vars.map((v) => grads[v.name]),
        lr,
      );
      this.lossSum!.assign(tf.add(this.lossSum!, tf.mul(value, size)));
      this.hitSum!.assign(tf.add(this.hitSum!, kept.hits!));
      tf.dispose(kept.hits!);
    });
  }

  /** Loss and recall@k per horizon step of the current weights on a window set, without dropout. */
  async evaluate(d: DeviceWindows): Promise<{ loss: number; recall: number[] }> {
    const { numExperts: E, topK: K, horizon: H } = this.model.shape;
    let loss = tf.scalar(0);
    let hits: tf.Tensor = tf.zeros([H]);
    for (let start = 0; start < d.n; start += this.evalBatchSize) {
      const size = Math.min(this.evalBatchSize, d.n - start);
      const [l2, h2] = tf.tidy(() => {
        const idx = tf.range(start, start + size, 1, 'int32') as tf.Tensor1D;
        const batch = this.gatherBatch(d, idx);
        const labels = multiHot(batch.targets, H, E);
        const logits = this.model.forward(batch, null);
        return [tf.add(loss, tf.mul(bceWithLogits(logits, labels), size)), tf.add(hits, recallHits(logits, labels, K))];
      });
      loss.dispose();
      hits.dispose();
      loss = l2 as tf.Scalar;
      hits = h2;
    }
    const [l, h] = await Promise.all([loss.data(), hits.data()]);
    tf.dispose([loss, hits]);
    return { loss: l[0] / d.n, recall: Array.from(h, (x) => x / d.n) };
  }

  /** Early stopping on validation loss: keeps the best weights on the device and restores them when it stops. */
  private async earlyStopping(m: EpochMetrics): Promise<void> {
    const patience = this.schedule.patience;
    if (patience <= 0 || m.valLoss === null) return;
    if (!this.best || m.valLoss < this.best.loss) {
      if (this.best) tf.dispose(this.best.weights);
      this.best = { loss: m.valLoss, epoch: m.epoch, weights: this.model.variables.map((v) => tf.clone(v)) };
      this.sinceBest = 0;
      return;
    }
    this.sinceBest++;
    const last = this._epoch >= this.schedule.epochs;
    if (this.sinceBest >= patience || last) {
      if (this.sinceBest >= patience) this.doneReason = 'early-stopping';
      this.model.variables.forEach((v, i) => v.assign(this.best!.weights[i]));
      this.bestEpoch = this.best.epoch;
    }
  }

  /**
   * Sigmoid probabilities [n, H, E] for windows (no dropout), computed in batches; one read per batch.
   * For scoring test sets (learnedPredictor.ts); `logits` gives the logits instead (exports' reference cases).
   */
  async predict(w: Windows, output: 'probabilities' | 'logits' = 'probabilities'): Promise<Float32Array> {
    const { numExperts: E, horizon: H } = this.model.shape;
    if (w.context !== this.config.context || w.horizon !== H)
      throw new Error(`windows of context ${w.context}/horizon ${w.horizon} do not fit a model of ${this.config.context}/${H}`);
    const out = new Float32Array(w.count * H * E);
    const { context: C, topK: K } = w;
    for (let start = 0; start < w.count; start += this.evalBatchSize) {
      const size = Math.min(this.evalBatchSize, w.count - start);
      const probs = tf.tidy(() => {
        const batch: BatchTensors = {
          ctxExperts: tf.tensor2d(Float32Array.from(w.ctxExperts.subarray(start * C * K, (start + size) * C * K)), [size, C * K]),
          ctxLayers: tf.tensor2d(Float32Array.from(w.ctxLayers.subarray(start * C, (start + size) * C)), [size, C]),
          targetLayers: tf.tensor2d(Float32Array.from(w.targetLayers.subarray(start * H, (start + size) * H)), [size, H]),
          extra: uploadExtra(w, start, size),
        };
        const logits = this.model.forward(batch, null);
        return output === 'logits' ? logits : tf.sigmoid(logits);
      });
      out.set((await probs.data()) as Float32Array, start * H * E);
      probs.dispose();
    }
    return out;
  }

  dispose(): void {
    if (this.perm) this.endEpoch();
    if (this.best) tf.dispose(this.best.weights);
    this.best = null;
    disposeWindows(this.train);
    if (this.val) disposeWindows(this.val);
    this.optimizer.dispose();
    this.fused?.dispose();
    this.model.dispose();
  }
}
