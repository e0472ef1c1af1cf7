// Worker-thread entry: decodes one shard at a time for the main thread (see guardedDecode.ts).
import { parentPort } from 'node:worker_threads';
import { decodeShard } from '../core/trace/shard';
import { TraceError, type Manifest } from '../core/trace/types';

interface Job {
  id: number;
  bytes: Uint8Array;
  manifest: Manifest;
  where: string;
  tokens?: number;
}

parentPort!.on('message', (job: Job) => {
  try {
    const chunk = decodeShard(job.bytes, job.manifest, job.where, job.tokens);
    const buffers = new Set<ArrayBuffer>();
    for (const v of Object.values(chunk)) if (ArrayBuffer.isView(v)) buffers.add(v.buffer as ArrayBuffer);
    parentPort!.postMessage({ id: job.id, chunk }, [...buffers]);
  } catch (e) {
    const err = e as Error;
    const message = err instanceof TraceError ? err.message : `${job.where}: not a readable shard (${err.message})`;
    parentPort!.postMessage({ id: job.id, error: message });
  }
});
