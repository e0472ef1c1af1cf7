/**
 * "Run": score every baseline (trace worker) and train the spec's learned model (training worker) on the same
 * seeded split of the loaded trace set, for the spec as it is now. Results are tagged with the run's key, so a
 * changed spec shows them as stale and late answers of an older run are dropped.
 */
import { zipSync } from 'fflate';
import { taskOf, trainingConfigOf, type ExperimentSpec } from '../core/experiment/spec';
import { encodeSpecHash } from '../core/experiment/url';
import type { TrainingCallbacks, TrainingClient, TrainingOutcome } from '../workers/trainingClient';
import type { SplitRequest } from '../workers/traceProtocol';
import type { NotebookStore } from './notebookStore';
import type { TraceController } from './traceController';
import { errorText } from './errorText';

/** The experiment a result belongs to: the spec without its view, and which load it ran on. */
export function runKeyOf(spec: ExperimentSpec, traceId: number): string {
  return `${traceId}|${encodeSpecHash({ ...spec, view: { panel: 'overview', layer: 0 } })}`;
}

export class RunController {
  /** Started on the first run (tfjs loads only then); replaced when its worker dies. */
  private trainer: TrainingClient | null = null;
  /** The run key of the job the trainer holds: stop and resume act on it only (not on a kept run opened since). */
  private active: string | null = null;

  constructor(
    private readonly store: NotebookStore,
    private readonly traces: TraceController,
    private readonly createTrainer: () => TrainingClient,
  ) {}

  async run(): Promise<void> {
    const { spec, current } = this.store.getState();
    if (!current) return;
    const key = runKeyOf(spec, current.id);
    this.active = key;
    this.store.getState().beginRun(key, spec.model.kind);
    const req: SplitRequest = { datasets: spec.datasets, task: taskOf(spec), testFraction: spec.task.testFraction, seed: spec.seed };
    const baselines = this.traces.client
      .baselines(req)
      .then((b) => this.store.getState().setBaselines(key, b))
      .catch((e: unknown) => this.store.getState().failBaselines(key, errorText(e)));
    await Promise.all([baselines, this.train(key, req, spec)]);
  }

  private callbacks(key: string): TrainingCallbacks {
    const st = () => this.store.getState();
    return {
      onBackend: (backend) => st().updateTraining(key, { backend, status: 'running' }),
      onEpoch: (m) => st().addEpoch(key, m),
      onProgress: (p) => st().updateTraining(key, { step: p.step, totalSteps: p.totalSteps }),
    };
  }

  private finish(key: string, out: TrainingOutcome): void {
    const st = this.store.getState();
    if (st.training.status === 'error') return;
    st.updateTraining(key, {
      status: out.state,
      result: out.result,
      cost: out.cost ?? null,
      model: out.model,
      backend: out.backend,
      step: out.summary.step,
      totalSteps: out.summary.totalSteps,
    });
  }

  private fail(key: string, e: unknown): void {
    const text = errorText(e);
    // A dead worker, or one whose WebGPU device was lost, cannot be reused; the next run starts a fresh one.
    // The epochs it reported stay in the store (curves and the progress line), with the reason.
    if (/training worker failed|WebGPU device was lost/.test(text)) {
      this.trainer?.terminate();
      this.trainer = null;
    }
    this.store.getState().updateTraining(key, { status: 'error', error: text });
  }

  private async train(key: string, req: SplitRequest, spec: ExperimentSpec): Promise<void> {
    try {
      const { train, test } = await this.traces.client.splitData(req);
      this.trainer ??= this.createTrainer();
      const out = await this.trainer.start({ config: trainingConfigOf(spec), model: spec.model.kind, backend: spec.backend, train, test }, this.callbacks(key));
      this.finish(key, out);
    } catch (e) {
      this.fail(key, e);
    }
  }

  stop(): void {
    const { runKey, training } = this.store.getState();
    if (!runKey || runKey !== this.active || !this.trainer || (training.status !== 'running' && training.status !== 'starting')) return;
    this.store.getState().updateTraining(runKey, { status: 'stopping' });
    void this.trainer.stop().catch((e: unknown) => this.fail(runKey, e));
  }

  /**
   * The trained model of the shown run as one zip (weights, description and reference cases), named after its
   * kind; only while the worker holds that run's finished model.
   */
  async exportModel(): Promise<{ name: string; zip: Uint8Array }> {
    const { runKey, training } = this.store.getState();
    if (!runKey || runKey !== this.active || !this.trainer?.exportFiles || training.status !== 'done')
      throw new Error('no trained model to export: run the model to the end first');
    const files = await this.trainer.exportFiles();
    return { name: `speclab-${training.model ?? 'model'}.zip`, zip: zipSync(files, { level: 6 }) };
  }

  /** Tests only (src/state/faults.ts): a fault in the running training worker; false when there is none to hit. */
  async injectFault(kind: 'gpu-device' | 'crash'): Promise<boolean> {
    return this.trainer ? this.trainer.injectFault(kind) : false;
  }

  async resume(): Promise<void> {
    const { runKey, training } = this.store.getState();
    // A stopped run opened from the kept runs is not the job the worker holds (unless it is that run): nothing to resume.
    if (!runKey || runKey !== this.active || !this.trainer || training.status !== 'stopped') return;
    this.store.getState().updateTraining(runKey, { status: 'running' });
    try {
      this.finish(runKey, await this.trainer.resume(this.callbacks(runKey)));
    } catch (e) {
      this.fail(runKey, e);
    }
  }
}
