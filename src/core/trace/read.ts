import { sha256Hex } from './hash';
import { parseManifest } from './manifest';
import { decodeShard } from './shard';
import { TraceError, type Manifest, type TraceChunk, type TraceSet } from './types';

/** Where a trace set's files come from: a URL prefix, a folder on disk, dropped files. */
export interface TraceSource {
  /** Names the source in messages, e.g. the folder path or URL. */
  label: string;
  readText(name: string): Promise<string>;
  readBytes(name: string): Promise<Uint8Array>;
}

export interface ReadProgress {
  bytes: number;
  tokens: number;
}

export interface ReadOptions {
  onProgress?: (p: ReadProgress) => void;
  /** Skip SHA-256 verification (only for sources already verified, e.g. a content-addressed cache). */
  skipChecksums?: boolean;
  /**
   * Decodes one shard. The default decodes in this thread; callers that face untrusted bytes outside a
   * worker pass one that runs under a time budget (src/cli/guardedDecode.ts).
   */
  decode?: (bytes: Uint8Array, manifest: Manifest, where: string, tokens: number) => TraceChunk | Promise<TraceChunk>;
  /** The manifest as parsed (once), before any shard is read: e.g. a cache finds its keys in it. */
  onManifest?: (manifest: Manifest) => void;
}

/** Joins a body received in parts (a stream's chunks) into one buffer; `total` when already counted. */
export function joinChunks(parts: readonly Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1 && parts[0].length === total) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface FetchOptions {
  /**
   * Called while a file's body arrives, with the bytes of it received so far (at most every `progressEvery`
   * bytes): a large shard on a slow network is not mistaken for a hang.
   */
  onBytes?: (name: string, received: number) => void;
  /** Bytes between two onBytes calls (default 1 MiB). */
  progressEvery?: number;
}

/** A source over HTTP(S): files are fetched relative to `baseUrl`; bodies read as streams when `onBytes` is given. */
export function fetchSource(baseUrl: string, opts: FetchOptions = {}): TraceSource {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const every = opts.progressEvery ?? 1 << 20;
  const get = async (name: string): Promise<Response> => {
    const url = new URL(name, new URL(base, globalThis.location?.href ?? 'http://localhost/'));
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new TraceError(`could not fetch (${(e as Error).message})`, url.href);
    }
    if (!res.ok) throw new TraceError(`HTTP ${res.status} ${res.statusText}`.trim(), url.href);
    return res;
  };
  const bytesOf = async (name: string, res: Response): Promise<Uint8Array> => {
    if (!opts.onBytes || !res.body) return new Uint8Array(await res.arrayBuffer());
    const parts: Uint8Array[] = [];
    let got = 0;
    let reported = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      if (got - reported >= every) {
        reported = got;
        opts.onBytes(name, got);
      }
    }
    return joinChunks(parts, got);
  };
  return {
    label: baseUrl,
    readText: async (name) => (await get(name)).text(),
    readBytes: async (name) => bytesOf(name, await get(name)),
  };
}

/** Reads manifest.json and every shard it lists, verifying checksums, types, ranges and order. */
export async function readTraceSet(src: TraceSource, opts: ReadOptions = {}): Promise<TraceSet> {
  const manifest = parseManifest(await src.readText('manifest.json'), `${src.label}/manifest.json`);
  opts.onManifest?.(manifest);
  const chunks: TraceChunk[] = [];
  let bytes = 0;
  let tokens = 0;
  let lastSeq: number | undefined;
  let lastPos = -1;
  const seen = new Set<number>();
  for (const entry of manifest.shards) {
    const where = `${src.label}/${entry.file}`;
    const data = await src.readBytes(entry.file);
    if (!opts.skipChecksums) {
      const sum = await sha256Hex(data);
      if (sum !== entry.sha256) throw new TraceError(`SHA-256 is ${sum}, the manifest says ${entry.sha256} (corrupted or replaced file)`, where);
    }
    const chunk = await (opts.decode ?? decodeShard)(data, manifest, where, entry.tokens);
    // Sequences must be contiguous across shards too: a sequence id never comes back once another started.
    for (let t = 0; t < chunk.tokens; t++) {
      const s = chunk.seq[t];
      if (s !== lastSeq) {
        if (seen.has(s)) throw new TraceError(`row ${t}: sequence ${s} appears again after other sequences (rows must be grouped by sequence)`, where);
        seen.add(s);
        lastSeq = s;
      } else if (chunk.pos[t] <= lastPos) {
        throw new TraceError(`row ${t}: position ${chunk.pos[t]} does not follow ${lastPos} in sequence ${s}`, where);
      }
      lastPos = chunk.pos[t];
    }
    chunks.push(chunk);
    bytes += data.length;
    tokens += chunk.tokens;
    opts.onProgress?.({ bytes, tokens });
  }
  return { manifest, chunks };
}
