/**
 * The page's side of the training worker (training.worker.ts). One client owns one worker; a new start() ends
 * the previous run. Callbacks cross to the worker as comlink proxies; the trace arrays are transferred, not
 * copied, unless `transfer: false`.
 *
 *   const trainer = createTrainingClient();
 *   const out = await trainer.start({ config, train, test, backend: 'auto' }, { onBackend, onEpoch, onProgress });
 *   // out.state 'done' → out.result is the model's PredictorResult on `test`; 'stopped' → trainer.resume(cb)
 */
import { proxy, releaseProxy, transfer, wrap, type Endpoint, type Remote } from 'comlink';
import type { PredictorResult } from '../core/predictors/evaluate';
import type { TraceSet } from '../core/trace/types';
import type { ExportFiles, TrainingCallbacks, TrainingJob } from '../ml/trainingService';
import type { KeyedOutcome, TrainingWorkerApi } from './training.worker';

export type { TrainingCallbacks, TrainingJob } from '../ml/trainingService';
/** What a start or resume resolves with: the service's outcome and the model kind that trained (its result's key). */
export type TrainingOutcome = KeyedOutcome;
export type { BackendReport, BackendFailure } from '../ml/backend';
export type { EpochMetrics, StepProgress, TrainingSummary } from '../ml/trainingSession';
export type { PredictorCost } from '../ml/predictorCost';

export interface StartOptions {
  /**
   * Move the chunks' arrays to the worker instead of copying them (default true). They are unusable here
   * afterwards, so pass arrays the page no longer needs, such as a split made for this run.
   */
  transfer?: boolean;
}

export interface TrainingClient {
  /** Trains on job.train (validation split by sequence from it) and scores on job.test; resolves when done or stopped. */
  start(job: TrainingJob, callbacks?: TrainingCallbacks, opts?: StartOptions): Promise<TrainingOutcome>;
  /** Asks the running job to stop after its current step; start()/resume() then resolves with state 'stopped'. */
  stop(): Promise<void>;
  /** Continues a stopped job where it stopped (same numbers as an uninterrupted run). */
  resume(callbacks?: TrainingCallbacks): Promise<TrainingOutcome>;
  /** The model as it is now (e.g. after a stop), scored on the test split. */
  results(): Promise<PredictorResult>;
  /** The trained model's export (src/ml/exportModel.ts): file name → bytes. */
  exportFiles?(): Promise<ExportFiles>;
  /** Ends the worker and frees everything it held. */
  terminate(): void;
  /** Tests only (src/state/faults.ts): lose the WebGPU device under the running job, or crash the worker. */
  injectFault(kind: 'gpu-device' | 'crash'): Promise<boolean>;
}

function buffersOf(sets: TraceSet[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const s of sets)
    for (const c of s.chunks)
      for (const a of [c.seq, c.pos, c.dataset, c.experts, c.tokenId, c.weights, c.logits, c.lookahead])
        if (a && a.buffer instanceof ArrayBuffer) seen.add(a.buffer);
  return [...seen];
}

/** Every callback defined: a comlink proxy of an object answers any property, so a missing one would be "called". */
function proxied(cb: TrainingCallbacks = {}): TrainingCallbacks {
  return proxy({
    onBackend: (r) => cb.onBackend?.(r),
    onEpoch: (m) => cb.onEpoch?.(m),
    onProgress: (p) => cb.onProgress?.(p),
  } satisfies Required<TrainingCallbacks>);
}

/** A client over any comlink endpoint that exposes the training worker's API (a Worker, a MessagePort). */
export function wrapTrainingEndpoint(endpoint: Endpoint, onTerminate: () => void = () => {}, died?: Promise<never>): TrainingClient {
  const api: Remote<TrainingWorkerApi> = wrap<TrainingWorkerApi>(endpoint);
  const guard = <T>(p: Promise<T>): Promise<T> => (died ? Promise.race([p, died]) : p);
  return {
    start(job, callbacks, opts = {}) {
      const payload = opts.transfer === false ? job : transfer(job, buffersOf([job.train, job.test]));
      return guard(api.start(payload, proxied(callbacks)));
    },
    stop: () => guard(api.stop()),
    resume: (callbacks) => guard(api.resume(proxied(callbacks))),
    results: () => guard(api.results()),
    exportFiles: () => guard(api.exportFiles()),
    injectFault: (kind) => guard(api.injectFault(kind)),
    terminate() {
      api[releaseProxy]();
      onTerminate();
    },
  };
}

/** Starts the training worker (a Vite module worker) and returns its client. */
export function createTrainingClient(): TrainingClient {
  const worker = new Worker(new URL('./training.worker.ts', import.meta.url), { type: 'module', name: 'training' });
  const died = new Promise<never>((_, reject) =>
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      reject(new Error(`the training worker failed: ${ev.message || 'script error (out of memory?)'}`));
    }),
  );
  died.catch(() => {});
  return wrapTrainingEndpoint(worker, () => worker.terminate(), died);
}
