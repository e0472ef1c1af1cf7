/**
 * Runs decode jobs (decodeJobs.ts) in a worker under a time budget, for the page (a Web Worker) and the CLI
 * (a Node worker thread) alike. A job that overruns its budget, or a worker that dies, is answered with a
 * TraceError naming the input; the worker is terminated and the next job starts a fresh one, so one hostile
 * file can neither hang nor take down the caller, and what was loaded before stays loaded.
 *
 * Budgets count from the worker's "ready" message, so a slow first start (module loading) is not charged to
 * the first shard. Jobs run one at a time, in call order.
 */
import type { DecodeJob, DecodeJobValue, DecodeReply } from './decodeJobs';
import type { ImportFormat, ImportOptions, ImportResult, RawFile } from './importers';
import type { InspectedShard, ShapeHints } from './shard';
import { TraceError, type Manifest, type TraceChunk, type TraceSet } from './types';

/** A worker as seen from the main thread: Web Worker and Node worker_threads adapters below and in src/cli. */
export interface WorkerHandle {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  /** `onFailure` is called when the worker reports an uncaught error or exits. */
  listen(onMessage: (data: unknown) => void, onFailure: (why: string) => void): void;
  terminate(): void;
}

export interface GuardOptions {
  /** Budget of every job, in ms (default 5000). */
  baseMs?: number;
  /** Extra budget per MB of input (default 50). */
  msPerMB?: number;
  /** Extra budget per MB of raw logs for import jobs (parsing text is slower than Arrow; default msPerMB). */
  importMsPerMB?: number;
  /** How long a fresh worker may take to load before it counts as failed (default 60000). */
  startupMs?: number;
}

/** The job ran out of time; the worker was terminated. */
export class DecodeTimeout extends TraceError {
  constructor(
    readonly budgetMs: number,
    where: string,
  ) {
    super(`reading took longer than ${Math.round(budgetMs)} ms; rejected as malformed (the worker was stopped)`, where);
    this.name = 'DecodeTimeout';
  }
}

/** The worker failed in a way that is not a clean rejection: an exception other than TraceError, or a dead worker. */
export class DecoderFault extends TraceError {
  constructor(message: string, where: string) {
    super(message, where);
    this.name = 'DecoderFault';
  }
}

type JobBody = DecodeJob extends infer J ? (J extends DecodeJob ? Omit<J, 'id'> : never) : never;

interface Running {
  id: number;
  where: string;
  resolve: (v: DecodeJobValue) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class GuardedRunner {
  private worker: WorkerHandle | null = null;
  private ready: Promise<void> | null = null;
  private running: Running | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  private abortStart: ((why: string) => void) | undefined;
  /** Time the last job took inside the worker (ms), for callers that report it. */
  lastJobMs = 0;

  constructor(
    private readonly spawn: () => WorkerHandle,
    private readonly opts: GuardOptions = {},
  ) {}

  private start(): Promise<void> {
    if (this.worker && this.ready) return this.ready;
    const w = this.spawn();
    this.worker = w;
    this.ready = new Promise<void>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => fail(`the decode worker did not start within ${this.opts.startupMs ?? 60_000} ms`), this.opts.startupMs ?? 60_000);
      // Called by drop(): a worker stopped before it said ready (closed, or failed) fails the jobs waiting for it.
      this.abortStart = (why: string) => {
        clearTimeout(timer);
        if (!started) reject(new DecoderFault(why, 'decode worker'));
      };
      const fail = (why: string) => {
        if (this.worker !== w) return;
        this.drop(why);
      };
      w.listen(
        (data) => {
          if (this.worker !== w) return;
          if (!started) {
            if ((data as { ready?: boolean })?.ready) {
              started = true;
              clearTimeout(timer);
              this.abortStart = undefined;
              resolve();
            }
            return;
          }
          this.onReply(data as DecodeReply);
        },
        (why) => {
          if (this.worker !== w) return;
          if (!started) return fail(why);
          const r = this.running;
          this.drop();
          if (r) {
            clearTimeout(r.timer);
            r.reject(new DecoderFault(why, r.where));
          }
        },
      );
    });
    return this.ready;
  }

  /** Starts the worker now (module loading overlaps the caller's own work); a failure shows at the next job. */
  warm(): void {
    this.start().catch(() => undefined);
  }

  /** Forgets and terminates the current worker (the next job starts a new one). */
  private drop(why = 'the decode worker was stopped before it started'): void {
    const abort = this.abortStart;
    this.abortStart = undefined;
    abort?.(why);
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    this.running = null;
    if (w) w.terminate();
  }

  private onReply(reply: DecodeReply): void {
    const r = this.running;
    if (!r || reply.id !== r.id) return;
    clearTimeout(r.timer);
    this.running = null;
    this.lastJobMs = reply.ms;
    if (reply.ok) r.resolve(reply.value);
    else r.reject(reply.fault ? new DecoderFault(reply.message, reply.where) : new TraceError(reply.message, reply.where));
  }

  /** Runs one job; `bytes` sizes its budget. Buffers in `transfer` move to the worker (the caller loses them). */
  run<T extends DecodeJobValue>(body: JobBody, where: string, bytes: number, transfer: ArrayBuffer[] = []): Promise<T> {
    const go = async (): Promise<T> => {
      await this.start();
      const w = this.worker!;
      const id = this.nextId++;
      this.lastJobMs = 0;
      const perMB = (body.kind === 'import' ? this.opts.importMsPerMB : undefined) ?? this.opts.msPerMB ?? 50;
      const budgetMs = (this.opts.baseMs ?? 5000) + (perMB * bytes) / 1e6;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (this.running?.id !== id) return;
          this.drop();
          reject(new DecodeTimeout(budgetMs, where));
        }, budgetMs);
        this.running = { id, where, resolve: resolve as (v: DecodeJobValue) => void, reject, timer };
        try {
          w.post({ ...body, id }, transfer);
        } catch (e) {
          clearTimeout(timer);
          this.running = null;
          reject(new DecoderFault(`could not send the input to the decode worker (${(e as Error).message})`, where));
        }
      });
    };
    const p = this.tail.then(go, go);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** readTraceSet's `decode`: one shard against its manifest. The bytes are copied, the caller keeps its own. */
  decode(bytes: Uint8Array, manifest: Manifest, where: string, tokens?: number): Promise<TraceChunk> {
    const own = bytes.slice();
    return this.run<TraceChunk>({ kind: 'decode', bytes: own, manifest, where, tokens }, where, own.length, [own.buffer]);
  }

  /** A lone shard without a manifest (e.g. a dropped .arrow file). */
  inspect(bytes: Uint8Array, where: string, hints?: ShapeHints): Promise<InspectedShard> {
    const own = bytes.slice();
    return this.run<InspectedShard>({ kind: 'inspect', bytes: own, where, hints }, where, own.length, [own.buffer]);
  }

  /** Raw routing logs through the importers. */
  importFiles(files: RawFile[], format: ImportFormat = 'auto', opts: ImportOptions = {}): Promise<ImportResult> {
    let size = 0;
    for (const f of files) size += typeof f.data === 'string' ? f.data.length : f.data.length;
    const where = files.map((f) => f.name).join(', ') || '(no files)';
    return this.run<ImportResult>({ kind: 'import', files, format, opts }, where, size);
  }

  /** A whole trace set held in memory (manifest text and shard bytes by name). */
  readTraceSet(label: string, manifestText: string, files: Record<string, Uint8Array>): Promise<TraceSet> {
    let size = manifestText.length;
    for (const b of Object.values(files)) size += b.length;
    return this.run<TraceSet>({ kind: 'traceset', label, manifestText, files }, label, size);
  }

  /** Stops the worker; later jobs start a new one. */
  close(): void {
    const r = this.running;
    this.drop();
    if (r) {
      clearTimeout(r.timer);
      r.reject(new DecoderFault('the decoder was closed', r.where));
    }
  }
}

/** Adapter for a browser Web Worker running src/workers/decode.worker.ts. */
export function webWorkerHandle(w: Worker): WorkerHandle {
  return {
    post: (message, transfer) => w.postMessage(message, transfer),
    listen: (onMessage, onFailure) => {
      w.onmessage = (e) => onMessage(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        onFailure(`decoder failed (${e.message || 'worker error'})`);
      };
      w.onmessageerror = () => onFailure('the decoder sent a message that could not be read');
    },
    terminate: () => w.terminate(),
  };
}
