/**
 * The work a decode worker does for the main thread, as one pure function shared by the browser's Web
 * Worker (src/workers/decode.worker.ts) and the CLI's worker thread (src/cli/decodeWorker.ts). Untrusted bytes are only
 * ever parsed here, inside a worker that the main thread terminates when it overruns its time budget
 * (guarded.ts).
 */
import { importFilesAsync, type ImportFormat, type ImportOptions, type ImportResult, type RawFile } from './importers';
import { parseManifest } from './manifest';
import { readTraceSet, type TraceSource } from './read';
import { decodeShard, inspectShard, type InspectedShard, type ShapeHints } from './shard';
import { TraceError, type Manifest, type TraceChunk, type TraceSet } from './types';

export type DecodeJob =
  /** One shard checked against its manifest (readTraceSet's `decode`). */
  | { kind: 'decode'; id: number; bytes: Uint8Array; manifest: Manifest; where: string; tokens?: number }
  /** A lone shard without its manifest: shape from hints or inferred. */
  | { kind: 'inspect'; id: number; bytes: Uint8Array; where: string; hints?: ShapeHints }
  /** Raw routing logs (JSONL or hook CSV) through the importers. */
  | { kind: 'import'; id: number; files: RawFile[]; format: ImportFormat; opts: ImportOptions }
  /** A whole trace set held in memory: manifest text and shard bytes by file name. */
  | { kind: 'traceset'; id: number; label: string; manifestText: string; files: Record<string, Uint8Array> };

export type DecodeJobValue = TraceChunk | InspectedShard | ImportResult | TraceSet;

export type DecodeReply =
  | { id: number; ok: true; value: DecodeJobValue; ms: number }
  /** `fault`: an exception that is not a TraceError (a bug, or a failure inside apache-arrow we did not anticipate). */
  | { id: number; ok: false; message: string; where: string; fault: boolean; ms: number };

/** The first message a worker posts once its modules are loaded: budgets start counting from here. */
export const WORKER_READY = { ready: true } as const;

function chunkBuffers(c: TraceChunk, into: Set<ArrayBuffer>): void {
  for (const v of Object.values(c)) if (ArrayBuffer.isView(v)) into.add(v.buffer as ArrayBuffer);
}

/** Buffers of a job's result that can be transferred instead of copied. */
function transferables(v: DecodeJobValue): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  if ('chunk' in v) chunkBuffers(v.chunk, out);
  else if ('set' in v) for (const c of v.set.chunks) chunkBuffers(c, out);
  else if ('chunks' in v) for (const c of v.chunks) chunkBuffers(c, out);
  else chunkBuffers(v, out);
  // A view over a shared or pooled buffer cannot be transferred; leave those to structured cloning.
  return [...out].filter((b) => b instanceof ArrayBuffer && b.byteLength > 0);
}

function memorySource(label: string, manifestText: string, files: Record<string, Uint8Array>): TraceSource {
  return {
    label,
    readText: async (name) => {
      if (name === 'manifest.json') return manifestText;
      throw new TraceError('file not found', `${label}/${name}`);
    },
    readBytes: async (name) => {
      const b = Object.hasOwn(files, name) ? files[name] : undefined;
      if (!b) throw new TraceError('file not found', `${label}/${name}`);
      return b;
    },
  };
}

async function execute(job: DecodeJob): Promise<DecodeJobValue> {
  switch (job.kind) {
    case 'decode':
      return decodeShard(job.bytes, job.manifest, job.where, job.tokens);
    case 'inspect':
      return inspectShard(job.bytes, job.where, job.hints);
    case 'import':
      return importFilesAsync(job.files, job.format, job.opts);
    case 'traceset':
      // Parsing the manifest first keeps its errors apart from the shards' (readTraceSet parses it again, cheaply).
      parseManifest(job.manifestText, `${job.label}/manifest.json`);
      return readTraceSet(memorySource(job.label, job.manifestText, job.files));
  }
}

function whereOf(job: DecodeJob): string {
  switch (job.kind) {
    case 'decode':
    case 'inspect':
      return job.where;
    case 'import':
      return job.files.map((f) => f.name).join(', ') || '(no files)';
    case 'traceset':
      return job.label;
  }
}

/** Runs one job and builds the reply (and the buffers to transfer with it). Never throws. */
export async function runDecodeJob(job: DecodeJob): Promise<{ reply: DecodeReply; transfer: ArrayBuffer[] }> {
  const t0 = performance.now();
  try {
    const value = await execute(job);
    return { reply: { id: job.id, ok: true, value, ms: performance.now() - t0 }, transfer: transferables(value) };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof TraceError) {
      const message = e.message.startsWith(`${e.where}: `) ? e.message.slice(e.where.length + 2) : e.message;
      return { reply: { id: job.id, ok: false, message, where: e.where, fault: false, ms }, transfer: [] };
    }
    const err = e as Error;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(e);
    return { reply: { id: job.id, ok: false, message: `internal error while reading (${detail})`, where: whereOf(job), fault: true, ms }, transfer: [] };
  }
}
