/**
 * Reading trace sets in the trace worker: from a URL (shards through the IndexedDB cache), from a picked or
 * dropped trace-set folder (manifest.json + shards as File objects), from one dropped shard without its
 * manifest, or from raw JSONL/CSV logs through the importers. Everything here runs off the main thread, and
 * every parse of file contents (shards, lone shards, raw logs) goes through a `TraceDecoder`: in the page a
 * GuardedRunner whose throwaway decode worker is stopped when a file overruns its time budget.
 */
import type { GuardedRunner } from '../core/trace/guarded';
import { sha256Hex } from '../core/trace/hash';
import { classifyFile, detectFormat, SNIFF_BYTES, type DetectedFormat } from '../core/trace/importers';
import { sglangShapeFromConfig } from '../core/trace/importers/sglang';
import { fetchSource, readTraceSet, type TraceSource } from '../core/trace/read';
import { TraceError, totalTokens, type Manifest, type TraceSet } from '../core/trace/types';
import type { ShardCache } from './shardCache';
import type { LoadedInfo, LoadProgress, PickedFile } from './traceProtocol';
import { labelOfPaths } from './setLabel';

/** Raw logs become strings in memory (twice their size, briefly); more than this is refused up front. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;
export const MAX_FILES = 20_000;

type Progress = (p: LoadProgress) => void;

/** What parses untrusted bytes: shards against a manifest, a lone shard, raw logs (see src/core/trace/guarded.ts). */
export type TraceDecoder = Pick<GuardedRunner, 'decode' | 'inspect' | 'importFiles'>;

/** Decode budgets of the page's guarded decoder: each 1 s under the silence the load announces (quietMsFor). */
export const PAGE_DECODE_BUDGET = { baseMs: 4_000, msPerMB: 100, importMsPerMB: 400 } as const;

/** Silent time a step may take, from its input size: generous for slow machines, bounded for hostile input. */
export const quietMsFor = (bytes: number, msPerMB: number) => Math.round(5_000 + (msPerMB * bytes) / 1e6);
/** Arrow decoding and checks run at tens of MB/s; raw-log parsing at a few. */
const DECODE_MS_PER_MB = 100;
const IMPORT_MS_PER_MB = 400;
/** Progress while a shard downloads, at most this often, so a slow network never looks like a hang. */
const PROGRESS_EVERY_BYTES = 1 << 20;
export interface Loaded {
  set: TraceSet;
  info: LoadedInfo;
}

/** Bytes and tokens read so far in a load: what every progress report of that load counts from. */
interface LoadMeter {
  bytes: number;
  tokens: number;
}

/**
 * Wraps a source so shards come from the cache when their manifest checksum is there, and go in after a fetch.
 * The checksums come from the manifest readTraceSet parsed (pass `onManifest` to it), never from a parse of its own.
 */
function cachedSource(
  src: TraceSource,
  cache: ShardCache,
  counts: { hits: number; misses: number },
): { source: TraceSource; onManifest: (m: Manifest) => void } {
  const shaOf = new Map<string, string>();
  const source: TraceSource = {
    ...src,
    async readBytes(name) {
      const sha = shaOf.get(name);
      const hit = sha ? await cache.get(sha) : null;
      if (hit) {
        counts.hits++;
        return hit;
      }
      const bytes = await src.readBytes(name);
      counts.misses++;
      if (sha && (await sha256Hex(bytes)) === sha) await cache.put(sha, bytes);
      return bytes;
    },
  };
  return { source, onManifest: (m) => m.shards.forEach((s) => shaOf.set(s.file, s.sha256)) };
}

/** Announces the decoding that follows reading a shard, with its time allowance. */
function announcingDecode(src: TraceSource, meter: LoadMeter, onProgress: Progress): TraceSource {
  return {
    ...src,
    async readBytes(name) {
      const bytes = await src.readBytes(name);
      onProgress({ phase: 'decoding', bytes: meter.bytes, tokens: meter.tokens, quietMs: quietMsFor(bytes.length, DECODE_MS_PER_MB) });
      return bytes;
    },
  };
}

/**
 * The decoder's decode, timed for LoadedInfo.decodeMs: the time the decode worker spent decoding and checking
 * (GuardedRunner.lastJobMs), or the whole round trip where a decoder does not report it.
 */
function timedDecoder(decoder: TraceDecoder): { decode: TraceDecoder['decode']; ms: () => number } {
  let ms = 0;
  return {
    decode: async (...args) => {
      const t0 = performance.now();
      const chunk = await decoder.decode(...args);
      const inWorker = (decoder as { lastJobMs?: unknown }).lastJobMs;
      ms += typeof inWorker === 'number' && inWorker > 0 ? inWorker : performance.now() - t0;
      return chunk;
    },
    ms: () => ms,
  };
}

/**
 * Reads a trace set from `src`, decoding through `decoder` and reporting progress into `meter` and `onProgress`;
 * returns the set with its bytes and the decode time.
 */
async function readReported(
  src: TraceSource,
  meter: LoadMeter,
  onProgress: Progress,
  decoder: TraceDecoder,
  onManifest?: (m: Manifest) => void,
): Promise<{ set: TraceSet; bytes: number; decodeMs: number }> {
  const timed = timedDecoder(decoder);
  const set = await readTraceSet(announcingDecode(src, meter, onProgress), {
    decode: timed.decode,
    onManifest,
    onProgress: (p) => {
      meter.bytes = p.bytes;
      meter.tokens = p.tokens;
      onProgress({ phase: 'decoding', bytes: p.bytes, tokens: p.tokens });
    },
  });
  return { set, bytes: meter.bytes, decodeMs: timed.ms() };
}

export async function loadFromUrl(baseUrl: string, cache: ShardCache, onProgress: Progress, decoder: TraceDecoder): Promise<Loaded> {
  const counts = { hits: 0, misses: 0 };
  const meter: LoadMeter = { bytes: 0, tokens: 0 };
  // A shard's body is read as a stream with progress, counted from what the load read before it.
  const fetched = fetchSource(baseUrl, {
    progressEvery: PROGRESS_EVERY_BYTES,
    onBytes: (_, got) => onProgress({ phase: 'reading', bytes: meter.bytes + got, tokens: meter.tokens }),
  });
  const cached = cachedSource(fetched, cache, counts);
  const { set, bytes, decodeMs } = await readReported(cached.source, meter, onProgress, decoder, cached.onManifest);
  return {
    set,
    info: {
      label: baseUrl,
      manifest: set.manifest,
      tokens: totalTokens(set),
      bytes,
      decodeMs,
      origin: 'url',
      cache: { ...counts, cacheOff: cache.disabled },
      skipped: [],
    },
  };
}

const pathOf = (f: PickedFile): string => f.path || f.file.name;
const dirOf = (f: PickedFile): string => pathOf(f).split('/').slice(0, -1).join('/');

/** The set's name: the folder the files share, the one file's name, or the first name and how many more. */
function labelOf(files: PickedFile[]): string {
  return labelOfPaths(files.map(pathOf));
}

async function sniff(f: PickedFile, alone: boolean): Promise<{ format: DetectedFormat; bytes: Uint8Array; reason?: string }> {
  const bytes = new Uint8Array(await f.file.slice(0, SNIFF_BYTES).arrayBuffer());
  // A folder's members are judged by contents (a folder of logs may hold other JSONL); a file picked alone may
  // also go by its name.
  const c = classifyFile(pathOf(f), bytes);
  if (c.format === null && alone) return { format: detectFormat(f.file.name, bytes), bytes, reason: c.reason };
  return { ...c, bytes };
}

/** Arrow IPC by its contents: the file magic, or the stream's continuation marker; else by the sniffed format. */
function isArrow(head: Uint8Array, format: DetectedFormat): boolean {
  return format === 'arrow' || (head.length >= 8 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff);
}

export async function loadFromFiles(all: PickedFile[], onProgress: Progress, decoder: TraceDecoder): Promise<Loaded> {
  if (all.length === 0) throw new TraceError('no files were given', '(files)');
  if (all.length > MAX_FILES) throw new TraceError(`${all.length} files; at most ${MAX_FILES} at a time`, labelOf(all));
  // Hidden files (.DS_Store, ._x) are never data.
  const files = all.filter((f) => !f.file.name.startsWith('.'));
  const label = labelOf(files.length ? files : all);
  const manifests = files.filter((f) => f.file.name === 'manifest.json');
  if (manifests.length > 1)
    throw new TraceError(`${manifests.length} manifest.json files (${manifests.map(pathOf).slice(0, 3).join(', ')}…); open one trace set at a time`, label);
  if (manifests.length === 1) return loadTraceSetFiles(files, manifests[0], onProgress, decoder);

  const heads = await Promise.all(files.map((f) => sniff(f, files.length === 1)));
  const formats = heads.map((h) => h.format);
  const arrows = files.filter((_, i) => isArrow(heads[i].bytes, formats[i]));
  // One shard on its own is read as a lone shard (shape from its columns); several need their manifest.
  if (arrows.length === 1 && files.length === 1) return loadLoneShard(arrows[0], onProgress, decoder);
  const arrow = arrows[0] ?? files.find((_, i) => formats[i] === 'trace-manifest');
  if (arrow)
    throw new TraceError(
      'is part of a SpecLab trace set but its manifest.json was not opened with it; open the whole trace set folder (manifest.json and its shards)',
      pathOf(arrow),
    );
  const usable = files.filter((_, i) => formats[i] !== null);
  const skipped = files.filter((_, i) => formats[i] === null).map(pathOf);
  const skippedReasons = heads.filter((h) => h.format === null).map((h) => h.reason ?? 'not routing data');
  if (usable.length === 0)
    throw new TraceError(
      `no routing data: expected a trace set folder (manifest.json + shards), routing JSONL or hook CSV${skipped.length ? `; not recognised: ${skipped.slice(0, 5).join(', ')}` : ''}`,
      label,
    );
  const size = usable.reduce((n, f) => n + f.file.size, 0);
  if (size > MAX_IMPORT_BYTES)
    throw new TraceError(`${size} bytes of raw logs; at most ${MAX_IMPORT_BYTES} can be imported in the page (convert with the CLI: speclab import)`, label);

  const raw: { name: string; data: Uint8Array }[] = [];
  let bytes = 0;
  for (const f of usable) {
    raw.push({ name: pathOf(f), data: new Uint8Array(await f.file.arrayBuffer()) });
    bytes += f.file.size;
    onProgress({ phase: 'reading', bytes, tokens: 0 });
  }
  onProgress({ phase: 'importing', bytes, tokens: 0, quietMs: quietMsFor(bytes, IMPORT_MS_PER_MB) });
  // hook-csv names each file's dataset after its folder (a folder pick), else "default".
  // SGLang's flat routed_experts take their shape from a model config.json opened with them.
  const config = files.find((f) => f.file.name === 'config.json');
  const r = await decoder.importFiles(raw, 'auto', config ? sglangShapeFromConfig(await config.file.text()) : {});
  const format = formats[files.indexOf(usable[0])] ?? 'unknown';
  return {
    set: r.set,
    info: {
      label,
      manifest: r.set.manifest,
      tokens: r.tokens,
      bytes,
      origin: 'import',
      cache: { hits: 0, misses: 0, cacheOff: 'not used for files from disk' },
      imported: { format, files: usable.length, records: r.records, droppedTokens: r.droppedTokens },
      skipped,
      skippedReasons,
    },
  };
}

/** One Arrow shard without its manifest: checked and its shape inferred in the decoder (as `speclab validate`). */
async function loadLoneShard(f: PickedFile, onProgress: Progress, decoder: TraceDecoder): Promise<Loaded> {
  const data = new Uint8Array(await f.file.arrayBuffer());
  onProgress({ phase: 'decoding', bytes: data.length, tokens: 0, quietMs: quietMsFor(data.length, DECODE_MS_PER_MB) });
  const r = await decoder.inspect(data, pathOf(f));
  const set: TraceSet = { manifest: r.manifest, chunks: [r.chunk] };
  return {
    set,
    info: {
      label: pathOf(f),
      manifest: set.manifest,
      tokens: r.chunk.tokens,
      bytes: data.length,
      origin: 'shard',
      cache: { hits: 0, misses: 0, cacheOff: 'not used for files from disk' },
      inferred: r.inferred,
      skipped: [],
    },
  };
}

async function loadTraceSetFiles(files: PickedFile[], manifest: PickedFile, onProgress: Progress, decoder: TraceDecoder): Promise<Loaded> {
  const dir = dirOf(manifest);
  const byName = new Map<string, File>();
  const skipped: string[] = [];
  for (const f of files) {
    // Shards sit next to their manifest; files elsewhere in a picked tree are not part of this set.
    if (dirOf(f) === dir) byName.set(f.file.name, f.file);
    else skipped.push(pathOf(f));
  }
  const label = dir || 'opened files';
  const get = (name: string): File => {
    const f = byName.get(name);
    if (!f) throw new TraceError('is listed in manifest.json but was not among the opened files; open the whole trace set folder', `${label}/${name}`);
    return f;
  };
  const src: TraceSource = {
    label,
    readText: (name) => get(name).text(),
    readBytes: async (name) => new Uint8Array(await get(name).arrayBuffer()),
  };
  const { set, bytes, decodeMs } = await readReported(src, { bytes: 0, tokens: 0 }, onProgress, decoder);
  return {
    set,
    info: {
      label,
      manifest: set.manifest,
      tokens: totalTokens(set),
      bytes,
      decodeMs,
      origin: 'trace-set-files',
      cache: { hits: 0, misses: 0, cacheOff: 'not used for files from disk' },
      skipped,
    },
  };
}
