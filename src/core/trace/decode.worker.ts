/**
 * Web Worker entry for the page: decodes untrusted trace files off the main thread (see guarded.ts).
 * Create it with `new Worker(new URL('./decode.worker.ts', import.meta.url), { type: 'module' })`.
 */
import { runDecodeJob, WORKER_READY, type DecodeJob } from './decodeJobs';

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<DecodeJob>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (e) => {
  void runDecodeJob(e.data).then(({ reply, transfer }) => scope.postMessage(reply, transfer));
};
scope.postMessage(WORKER_READY);
