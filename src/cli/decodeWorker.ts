// Worker-thread entry: runs decode jobs for the main thread (see guardedDecode.ts and core/trace/guarded.ts).
import { parentPort } from 'node:worker_threads';
import { runDecodeJob, WORKER_READY, type DecodeJob } from '../core/trace/decodeJobs';

parentPort!.on('message', (job: DecodeJob) => {
  void runDecodeJob(job).then(({ reply, transfer }) => parentPort!.postMessage(reply, transfer));
});
parentPort!.postMessage(WORKER_READY);
