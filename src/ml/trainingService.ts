/**
 * What the training worker does, as a plain class (so it runs and is tested in Node too): pick a backend, train
 * the InterLayer model on a training split with progress callbacks, stop and resume, and score the model on the
 * test split with src/core's metrics. src/workers/training.worker.ts exposes one instance through comlink.
 */
import { DEFAULT_TASK, taskOfConfig, type TaskSpec } from '../core/tasks/task';
import type { PredictorResult } from '../core/predictors/evaluate';
import { scorePredictor } from '../core/predictors/evaluate';
import type { TraceSet } from '../core/trace/types';
import { initBackend, type BackendOptions, type BackendReport } from './backend';
import { backendOrder, parseInterLayerConfig, type BackendName, type InterLayerConfigInput, type LearnedPredictorName } from './config';
import { packageExport } from './exportModel';
import { LEARNED, type LearnedPredictor } from './learnedPredictor';
import { inferenceBackend, measureCost, type PredictorCost } from './predictorCost';
import type { EpochMetrics, StepProgress, TrainingSummary } from './trainingSession';

export interface TrainingJob {
  config: InterLayerConfigInput;
  /** Which learned predictor to train (default interlayer). */
  model?: LearnedPredictorName;
  train: TraceSet;
  test: TraceSet;
  /** A backend to try first (then the others, best first), or 'auto' (webgpu, webgl, wasm, cpu). */
  backend?: BackendName | 'auto';
}

export interface TrainingCallbacks {
  /** Once per start, before training: the backend chosen and why better ones were not. */
  onBackend?(r: BackendReport): void;
  onEpoch?(m: EpochMetrics): void;
  /** Every few dozen steps (the session's syncEvery). */
  onProgress?(p: StepProgress): void;
}

export interface TrainingOutcome {
  /** 'stopped' after stop(); resume() continues. 'done' when all epochs ran or early stopping ended it. */
  state: 'done' | 'stopped';
  summary: TrainingSummary;
  /** The model scored on the test split (kind 'learned'), when done; null when stopped. */
  result: PredictorResult | null;
  /** What the model costs at inference (size, time per token on this backend, the layer time), when done. */
  cost?: PredictorCost | null;
  backend: BackendReport;
}

/** An exported model's files by name (exportModel.ts): weights, description and reference cases. */
export type ExportFiles = Record<string, Uint8Array>;

export class TrainingService {
  private predictor: LearnedPredictor | null = null;
  private job: TrainingJob | null = null;
  private backend: BackendReport | null = null;
  private running: Promise<TrainingOutcome> | null = null;
  private cost: PredictorCost | null = null;

  /** The task of the current job (from its config). */
  private task: TaskSpec = DEFAULT_TASK;

  constructor(private readonly backendOptions: BackendOptions = {}) {}

  /** Starts a new run, ending any previous one. Resolves when it is done or stopped. */
  async start(job: TrainingJob, cb: TrainingCallbacks = {}): Promise<TrainingOutcome> {
    const config = parseInterLayerConfig(job.config); // bad input fails before any backend work
    if (this.running) {
      this.predictor?.session?.stop();
      await this.running.catch(() => {});
    }
    this.predictor?.dispose();
    this.predictor = null;
    this.cost = null;
    this.job = job;
    this.backend = await initBackend(backendOrder(job.backend), this.backendOptions);
    const hooks = delivered(cb);
    hooks.onBackend(this.backend);
    const task = taskOfConfig(config);
    this.task = task;
    this.predictor = LEARNED[job.model ?? 'interlayer'](job.train.manifest, config.seed, { config, hooks });
    return this.track(this.predictor.fit(job.train, task).then(() => this.outcome(hooks)));
  }

  /** Asks the running job to stop after its current step; its start()/resume() then resolves 'stopped'. */
  stop(): void {
    this.predictor?.session?.stop();
  }

  /** Continues a stopped job exactly where it stopped. */
  async resume(cb: TrainingCallbacks = {}): Promise<TrainingOutcome> {
    const session = this.predictor?.session;
    if (!session || !this.backend) throw new Error('nothing to resume: start a training job first');
    if (this.running) throw new Error('the training job is still running');
    const hooks = delivered(cb);
    const p = this.predictor!;
    return this.track((p.resume ? p.resume(hooks) : session.run(hooks)).then(() => this.outcome(hooks)));
  }

  /** The model as it is now, scored on the job's test split. */
  async results(): Promise<PredictorResult> {
    const p = this.predictor;
    if (!p?.session || !this.job) throw new Error('no trained model: start a training job first');
    const task = this.task;
    await p.prepare(this.job.test, task);
    const result = scorePredictor(p, this.job.test, task);
    // The model alone too (prepared by the wrapper's prepare): what a regression of the model itself shows in.
    const inner = (p as LearnedPredictor & { inner?: LearnedPredictor }).inner;
    if (inner) result.modelAloneRecallAtK = scorePredictor(inner, this.job.test, task).recallAtK;
    return result;
  }

  /** The trained model's export, its reference cases from the job's test split, named after the model. */
  async exportFiles(): Promise<ExportFiles> {
    const p = this.predictor;
    if (!p?.session || !this.job || p.session.state !== 'done') throw new Error('no trained model to export: run a training job to the end first');
    if (!p.exportModel) throw new Error(`${p.name}: this model cannot export`);
    const task = this.task;
    const m = this.job.train.manifest;
    const name = this.job.model ?? 'interlayer';
    return packageExport(await p.exportModel({ set: this.job.test, task }), name, {
      trainedOn: {
        model: m.model.name,
        numLayers: m.numLayers,
        numExperts: m.numExperts,
        topK: m.topK,
        tokens: this.job.train.chunks.reduce((a, c) => a + c.tokens, 0),
      },
      hyperparameters: { ...p.session.config },
      ...(this.cost && { cost: { ...this.cost } }),
    }).files;
  }

  dispose(): void {
    this.predictor?.session?.stop();
    this.predictor?.dispose();
    this.predictor = null;
    this.job = null;
  }

  private async track(p: Promise<TrainingOutcome>): Promise<TrainingOutcome> {
    this.running = p;
    try {
      return await p;
    } finally {
      if (this.running === p) this.running = null;
    }
  }

  private async outcome(hooks: Delivered): Promise<TrainingOutcome> {
    await hooks.settled();
    const summary = this.predictor!.session!.summary();
    const done = summary.state === 'done';
    const result = done ? await this.results() : null;
    // Timed after scoring: it prepares the predictor on a few test tokens (results() prepares it again).
    const p = this.predictor!;
    this.cost = done && p.exportModel ? await measureCost(p, this.job!.test, this.task, { backend: inferenceBackend(p, this.backend!.backend) }) : null;
    return { state: done ? 'done' : 'stopped', summary, result, cost: this.cost, backend: this.backend! };
  }
}

type Delivered = Required<TrainingCallbacks> & { settled(): Promise<void> };

/**
 * Callbacks that remember what they returned. Across comlink a callback is an asynchronous message on its own
 * port, so without waiting for them the final result could overtake the last epoch's report.
 */
function delivered(cb: TrainingCallbacks): Delivered {
  const pending: Promise<unknown>[] = [];
  const call = (f: (() => unknown) | undefined) => {
    // A failing callback (e.g. a closed page) must not stop training.
    if (f)
      pending.push(
        Promise.resolve()
          .then(f)
          .catch(() => {}),
      );
  };
  return {
    onBackend: (r) => call(cb.onBackend && (() => cb.onBackend!(r))),
    onEpoch: (m) => call(cb.onEpoch && (() => cb.onEpoch!(m))),
    onProgress: (p) => call(cb.onProgress && (() => cb.onProgress!(p))),
    settled: async () => {
      await Promise.all(pending.splice(0));
    },
  };
}
