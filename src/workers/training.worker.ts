/**
 * The training worker: trains the chosen learned model off the main thread on the best tfjs backend it can start
 * (WebGPU first), reports the backend and per-epoch metrics through comlink callbacks, and scores the model on
 * the test split; every outcome names the model kind that trained it. The work itself is src/ml/trainingService.ts; the page talks to it through trainingClient.ts.
 */
import '../core/zodJitless'; // before the config schema is built
import { expose } from 'comlink';
// The WASM backend's binaries, emitted as assets by Vite (the worker cannot find them next to a bundled module).
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs';
import type { LearnedPredictorName } from '../ml/config';
import { TrainingService, type TrainingCallbacks, type TrainingJob, type TrainingOutcome } from '../ml/trainingService';

/** An outcome with the kind of model that trained it: the key its result is stored under on the page. */
export type KeyedOutcome = TrainingOutcome & { model: LearnedPredictorName };

const service = new TrainingService({
  wasmPaths: {
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  },
});

interface GpuDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

/** The tfjs WebGPU backend's device, when training runs on it. */
function webgpuDevice(): GpuDeviceLike | null {
  return tf.getBackend() === 'webgpu' ? ((tf.backend() as unknown as { device?: GpuDeviceLike }).device ?? null) : null;
}

/**
 * A run on WebGPU ends as soon as its device is lost (driver reset, GPU removed, device.destroy()): tfjs would
 * otherwise fail at its next read, or wait for ever. The epochs reported so far stay with the page; this
 * worker's WebGPU backend is unusable afterwards, so the page starts a new worker for the next run.
 */
function untilDeviceLost<T>(run: (cb: TrainingCallbacks) => Promise<T>, cb: TrainingCallbacks, watchNow: boolean): Promise<T> {
  let onLost: (why: string) => void = () => {};
  const lost = new Promise<string>((resolve) => (onLost = resolve));
  let watching = false;
  const watch = () => {
    const device = webgpuDevice();
    if (!device) return;
    watching = true;
    void device.lost.then((info) => onLost(info.message || info.reason || 'no reason given'));
  };
  const lostError = (why: string) =>
    new Error(`${DEVICE_LOST}: ${why}; training stopped, the epochs done are kept. Run again to train on a new device or another backend`);
  if (watchNow) watch();
  // The page always passes all three callbacks (trainingClient.ts), as comlink proxies.
  const hooks: TrainingCallbacks = {
    onBackend: (r) => {
      watch();
      return cb.onBackend?.(r);
    },
    onEpoch: (m) => cb.onEpoch?.(m),
    onProgress: (p) => cb.onProgress?.(p),
  };
  const job = run(hooks).catch(async (e: unknown) => {
    // A read in flight fails first ("Buffer was unmapped…"); the device reports its loss a moment later.
    if (watching) {
      const why = await Promise.race([lost, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
      if (why !== null) throw lostError(why);
    }
    throw e;
  });
  return Promise.race([job, lost.then((why) => Promise.reject(lostError(why)))]);
}

/** The start of the error a lost device ends a run with (the page recognises it). */
const DEVICE_LOST = 'the WebGPU device was lost';

/** The model the last start() trains; a resume continues it. */
let model: LearnedPredictorName = 'interlayer';

/** The worker's API; methods are bound so comlink can call them on the exposed object. */
export const trainingWorkerApi = {
  start: (job: TrainingJob, cb: TrainingCallbacks = {}): Promise<KeyedOutcome> => {
    const kind = (model = job.model ?? 'interlayer');
    return untilDeviceLost((h) => service.start(job, h), cb, false).then((out) => ({ ...out, model: kind }));
  },
  stop: service.stop.bind(service),
  resume: (cb: TrainingCallbacks = {}): Promise<KeyedOutcome> => untilDeviceLost((h) => service.resume(h), cb, true).then((out) => ({ ...out, model })),
  results: service.results.bind(service),
  /** The trained model's export files (weights, description, reference cases), for the page to download. */
  exportFiles: service.exportFiles.bind(service),
  dispose: service.dispose.bind(service),
  /**
   * Fault injection for tests only; the page calls these only when this browser enabled it (src/state/faults.ts).
   * 'gpu-device' destroys the WebGPU device under a running job (false when not on WebGPU); 'crash' throws an
   * uncaught error, as a worker that fails does.
   */
  injectFault(kind: 'gpu-device' | 'crash'): boolean {
    if (kind === 'crash') {
      setTimeout(() => {
        throw new Error('injected fault: the training worker crashed');
      }, 0);
      return true;
    }
    const device = webgpuDevice();
    device?.destroy();
    return device !== null;
  },
};
export type TrainingWorkerApi = typeof trainingWorkerApi;

expose(trainingWorkerApi);
