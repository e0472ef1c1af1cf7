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
}

/** A source over HTTP(S): files are fetched relative to `baseUrl`. */
export function fetchSource(baseUrl: string): TraceSource {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
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
  return {
    label: baseUrl,
    readText: async (name) => (await get(name)).text(),
    readBytes: async (name) => new Uint8Array(await (await get(name)).arrayBuffer()),
  };
}

/** Reads manifest.json and every shard it lists, verifying checksums, types, ranges and order. */
export async function readTraceSet(src: TraceSource, opts: ReadOptions = {}): Promise<TraceSet> {
  const manifest = parseManifest(await src.readText('manifest.json'), `${src.label}/manifest.json`);
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
