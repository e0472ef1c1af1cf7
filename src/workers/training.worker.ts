/**
 * The training worker: trains the InterLayer model off the main thread on the best tfjs backend it can start
 * (WebGPU first), reports the backend and per-epoch metrics through comlink callbacks, and scores the model on
 * the test split. The work itself is src/ml/trainingService.ts; the page talks to it through trainingClient.ts.
 */
import '../ui/zodJitless'; // before the config schema is built
import { expose } from 'comlink';
// The WASM backend's binaries, emitted as assets by Vite (the worker cannot find them next to a bundled module).
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { TrainingService } from '../ml/trainingService';

const service = new TrainingService({
  wasmPaths: {
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  },
});

/** The worker's API; methods are bound so comlink can call them on the exposed object. */
export const trainingWorkerApi = {
  start: service.start.bind(service),
  stop: service.stop.bind(service),
  resume: service.resume.bind(service),
  results: service.results.bind(service),
  dispose: service.dispose.bind(service),
};
export type TrainingWorkerApi = typeof trainingWorkerApi;

expose(trainingWorkerApi);
