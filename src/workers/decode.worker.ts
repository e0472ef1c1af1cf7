/**
 * The page's decode worker: decodes untrusted trace files off the main thread (src/core/trace/decodeJobs.ts does
 * the work; guarded.ts bounds it). The trace worker starts it through a GuardedRunner (trace.worker.ts), so a file
 * that overruns its budget ends only this worker. The CLI's Node counterpart is src/cli/decodeWorker.ts.
 */
import '../core/zodJitless'; // before the manifest schema is built
import { runDecodeJob, WORKER_READY, type DecodeJob } from '../core/trace/decodeJobs';

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<DecodeJob>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (e) => {
  void runDecodeJob(e.data).then(({ reply, transfer }) => scope.postMessage(reply, transfer));
};
scope.postMessage(WORKER_READY);
