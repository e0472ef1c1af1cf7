/**
 * The notebook's side effects, kept out of React components (and so out of StrictMode's double effects):
 * the URL hash, the trace worker, runs, the collector connection and the WebGPU probe. Components call the controller for actions and
 * read everything else from the store.
 */
import { probeWebGpuInWorker } from '../workers/probeWebGpuInWorker';
import type { BudgetSource } from '../workers/traceClient';
import type { PickedFile } from '../workers/traceProtocol';
import type { NotebookStore } from './notebookStore';
import type { TrainingClient } from '../workers/trainingClient';
import { CollectController } from './collectController';
import { faultInjectionEnabled, type Fault } from './faults';
import { RunController } from './runController';
import { RunHistory } from './runHistory';
import { openRunsDb, type RunsDb } from './runsDb';
import { TraceController, type TokenWindowFor } from './traceController';
import { syncUrl } from './urlSync';

export interface NotebookController {
  /** Opens a trace reference typed or clicked on the page (demo, path, URL): the dataset filter starts over. */
  openTrace(trace: string): void;
  openFiles(files: PickedFile[]): void;
  /** A window of the loaded set's tokens under the dataset filter (the token view); `sequence` null: every kept token. */
  tokens(sequence: number | null, start: number, count: number): Promise<TokenWindowFor>;
  /** Scores the baselines and trains the model for the spec as it is; resolves when both are done (or failed). */
  run(): Promise<void>;
  stop(): void;
  resume(): Promise<void>;
  /** The shown run's trained model as a zip of its export files (src/ml/exportModel.ts). */
  exportModel(): Promise<{ name: string; zip: Uint8Array }>;
  /** Kept runs: rename, annotate, delete, export and import. */
  runs: RunHistory;
  /** A `speclab-collect serve` connection: jobs submitted, followed, opened. */
  collect: CollectController;
  /** Tests only, when enabled in this browser (faults.ts): true when the fault hit something. */
  injectFault(kind: Fault): Promise<boolean>;
}

export interface NotebookOptions {
  /** Starts the training worker; called on the first run. */
  createTrainer: () => TrainingClient;
  budget?: BudgetSource;
  /** import.meta.env.BASE_URL: where the demo trace set is served. */
  appBase: string;
  /** Where runs are kept (IndexedDB by default). */
  runsDb?: RunsDb;
}

/**
 * Builds the notebook's controller. `start()` begins the side effects (read the URL, load its trace set, probe
 * WebGPU); the page calls it after the first paint, so startup evaluation and loading are separate tasks.
 */
export function createNotebook(store: NotebookStore, win: Window, opts: NotebookOptions): { controller: NotebookController; start(): void; dispose(): void } {
  const traces = new TraceController(store, opts.budget, opts.appBase, win.location.origin);
  const runs = new RunController(store, traces, opts.createTrainer);
  const history = new RunHistory(store, opts.runsDb ?? openRunsDb());
  const collect = new CollectController(store, (files) => traces.openFiles(files));
  let stopUrl = () => {};
  const controller: NotebookController = {
    openTrace: (trace) => traces.openTrace(trace, true),
    openFiles: (files) => traces.openFiles(files),
    tokens: (sequence, start, count) => traces.tokens(sequence, start, count),
    run: () => runs.run(),
    stop: () => runs.stop(),
    resume: () => runs.resume(),
    exportModel: () => runs.exportModel(),
    runs: history,
    collect,
    async injectFault(kind) {
      if (!faultInjectionEnabled()) throw new Error('fault injection is off in this browser');
      if (kind === 'trace-worker') return traces.client.injectCrash();
      return runs.injectFault(kind === 'gpu-device' ? 'gpu-device' : 'crash');
    },
  };
  return {
    controller,
    start() {
      stopUrl = syncUrl(store, traces, win);
      void history.start();
      // Not urgent: the probe's worker starts after the trace set's.
      setTimeout(() => void probeWebGpuInWorker().then((r) => store.getState().setGpu(r)), 500);
    },
    dispose() {
      stopUrl();
      history.dispose();
      collect.disconnect();
      traces.client.dispose();
    },
  };
}
