import { Worker } from 'node:worker_threads';
import { GuardedRunner, type GuardOptions, type WorkerHandle } from '../core/trace/guarded';

export { DecodeTimeout, DecoderFault } from '../core/trace/guarded';

/** A Node worker thread running decodeWorker.ts, as a WorkerHandle. */
function nodeWorker(maxHeapMb: number): WorkerHandle {
  const w = new Worker(new URL('./decodeWorker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
  // The pending job's timer keeps the process alive while a job runs; an idle worker must not.
  w.unref();
  return {
    post: (message, transfer) => w.postMessage(message, transfer),
    listen: (onMessage, onFailure) => {
      w.on('message', onMessage);
      w.on('error', (e) => onFailure(`decoder failed (${e.message})`));
      w.on('exit', (code) => onFailure(`decoder exited with code ${code} (out of memory?)`));
    },
    terminate: () => void w.terminate(),
  };
}

/**
 * Decodes shards in a worker thread under a time and memory budget. Untrusted bytes can send
 * apache-arrow's reader into very long loops or huge allocations; a worker that overruns is terminated
 * and the shard rejected, so the CLI always answers within seconds. Also runs lone-shard inspection and
 * the importers (see GuardedRunner).
 */
export class GuardedDecoder extends GuardedRunner {
  constructor(opts: GuardOptions & { maxHeapMb?: number } = {}) {
    super(() => nodeWorker(opts.maxHeapMb ?? 8192), opts);
  }

  override async close(): Promise<void> {
    super.close();
  }
}
