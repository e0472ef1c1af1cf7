import { Worker } from 'node:worker_threads';
import { TraceError, type Manifest, type TraceChunk } from '../core/trace/types';

/**
 * Decodes shards in a worker thread under a time and memory budget. Untrusted bytes can send
 * apache-arrow's reader into very long loops or huge allocations; a worker that overruns is terminated
 * and the shard rejected, so the CLI always answers within seconds.
 */
export class GuardedDecoder {
  private worker: Worker | null = null;
  private nextId = 0;

  constructor(
    private readonly opts: { baseMs?: number; msPerMB?: number; maxHeapMb?: number } = {},
  ) {}

  private spawn(): Worker {
    const w = new Worker(new URL('./decodeWorker.mjs', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.opts.maxHeapMb ?? 8192 },
    });
    w.unref();
    return w;
  }

  decode(bytes: Uint8Array, manifest: Manifest, where: string, tokens?: number): Promise<TraceChunk> {
    const w = (this.worker ??= this.spawn());
    const id = this.nextId++;
    const budgetMs = (this.opts.baseMs ?? 5000) + (this.opts.msPerMB ?? 50) * (bytes.length / 1e6);
    // Our own copy, so the transfer cannot detach a buffer the caller still uses (Node pools small reads).
    const own = bytes.slice();
    return new Promise<TraceChunk>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const kill = (msg: string) => {
        done();
        this.worker = null;
        void w.terminate();
        reject(new TraceError(msg, where));
      };
      const timer = setTimeout(() => kill(`decoding took longer than ${Math.round(budgetMs)} ms; rejected as malformed`), budgetMs);
      const onMessage = (m: { id: number; chunk?: TraceChunk; error?: string }) => {
        if (m.id !== id) return;
        done();
        if (m.error) reject(new TraceError(m.error.startsWith(where) ? m.error.slice(where.length + 2) : m.error, where));
        else resolve(m.chunk!);
      };
      const onError = (e: Error) => kill(`decoder failed (${e.message})`);
      const onExit = (code: number) => kill(`decoder exited with code ${code} (out of memory?)`);
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ id, bytes: own, manifest, where, tokens }, [own.buffer]);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
