/**
 * `speclab validate <file-or-folder>`: checks a trace set folder, a lone shard or raw routing logs without
 * writing anything. Every parse of file contents runs in the guarded decode worker, so a hostile file is
 * rejected within the worker's time budget instead of hanging the command.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { sha256Hex } from '../core/trace/hash';
import { detectFormat, SNIFF_BYTES, type RawFile } from '../core/trace/importers';
import { checkIpcStructure } from '../core/trace/ipc';
import { parseManifest } from '../core/trace/manifest';
import { readTraceSet } from '../core/trace/read';
import type { ShapeHints } from '../core/trace/shard';
import { TraceError, type Manifest, type TraceChunk } from '../core/trace/types';
import { dirSource } from './fsTrace';
import { GuardedDecoder } from './guardedDecode';

export interface ValidateOptions {
  /**
   * The shape expected (--layers, --top-k, --experts): a lone shard is read with it instead of inferring it;
   * routing logs are imported with the expert count and must have the rest; a trace set's manifest must match.
   */
  hints?: ShapeHints;
  /** Decoder to use (tests share one); by default one with the validate budget, closed at the end. */
  decoder?: GuardedDecoder;
}

export interface ValidateReport {
  ok: true;
  path: string;
  kind: 'trace-set' | 'shard' | 'jsonl' | 'hook-csv';
  tokens: number;
  sequences: number;
  layers: number;
  experts: number;
  topK: number;
  shards?: number;
  files?: number;
  records?: number;
  droppedTokens?: number;
  /** Lone shards: how L, K and E were obtained. */
  inferred?: { numLayers: string; topK: string; numExperts: string };
  /** The manifest a lone shard was checked against, when one beside it lists it. */
  manifest?: string;
  ms: number;
  summary: string;
}

/** The validate budget: small files are answered within about 2.5 s of decoding time, large ones get more. */
export const VALIDATE_BUDGET = { baseMs: 2500, msPerMB: 250 } as const;

function countSequences(chunks: TraceChunk[]): number {
  let n = 0;
  let last: number | undefined;
  for (const c of chunks)
    for (let t = 0; t < c.tokens; t++)
      if (c.seq[t] !== last) {
        n++;
        last = c.seq[t];
      }
  return n;
}

async function readAll(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TraceError(err.code === 'ENOENT' ? 'no such file or folder' : err.code === 'EISDIR' ? 'is a folder' : err.message, path);
  }
}

const isArrow = (b: Uint8Array) =>
  detectFormat('', b.subarray(0, 8)) === 'arrow' || (b.length >= 4 && b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff);

const shape = (m: { numLayers: number; numExperts: number; topK: number }) => `${m.numLayers} layers x ${m.numExperts} experts top-${m.topK}`;

const OPTION_OF = {
  numLayers: ['--layers', 'MoE layers'],
  topK: ['--top-k', 'experts per token (top-k)'],
  numExperts: ['--experts', 'experts per layer'],
} as const;

/** Throws a TraceError at `where` when the shape differs from a given --layers, --top-k or --experts. */
export function checkShape(m: { numLayers: number; numExperts: number; topK: number }, hints: ShapeHints | undefined, where: string): void {
  for (const k of ['numLayers', 'topK', 'numExperts'] as const) {
    const want = hints?.[k];
    if (want !== undefined && want !== m[k]) throw new TraceError(`has ${m[k]} ${OPTION_OF[k][1]}, but ${OPTION_OF[k][0]} says ${want}`, where);
  }
}

/** Validates `path` (trace set folder, manifest.json, shard, routing log or folder of logs); throws a TraceError on the first problem. */
export async function validatePath(path: string, opts: ValidateOptions = {}): Promise<ValidateReport> {
  const decoder = opts.decoder ?? new GuardedDecoder({ ...VALIDATE_BUDGET, maxHeapMb: 4096 });
  decoder.warm();
  const t0 = performance.now();
  try {
    const r = await validateWith(resolve(path), decoder, opts);
    return { ...r, ms: Math.round(performance.now() - t0) };
  } finally {
    if (!opts.decoder) await decoder.close();
  }
}

async function validateWith(abs: string, decoder: GuardedDecoder, opts: ValidateOptions): Promise<Omit<ValidateReport, 'ms'>> {
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new TraceError('no such file or folder', abs);
  }
  if (st.isDirectory()) {
    const hasManifest = await stat(join(abs, 'manifest.json')).then(
      (s) => s.isFile(),
      () => false,
    );
    return hasManifest ? validateTraceSet(abs, decoder, opts.hints) : validateLogFolder(abs, decoder, opts.hints);
  }
  if (basename(abs) === 'manifest.json') return validateTraceSet(dirname(abs), decoder, opts.hints);
  const bytes = await readAll(abs);
  if (isArrow(bytes)) return validateShard(abs, bytes, decoder, opts.hints);
  const fmt = detectFormat(abs, bytes.subarray(0, SNIFF_BYTES));
  if (fmt === 'trace-manifest') return validateTraceSet(dirname(abs), decoder, opts.hints);
  if (fmt === 'jsonl' || fmt === 'hook-csv') return validateLogs([{ name: abs, data: bytes }], fmt, abs, decoder, opts.hints);
  if (fmt === 'arrow') return validateShard(abs, bytes, decoder, opts.hints);
  throw new TraceError(unknownFormat(bytes), abs);
}

/** Why a file is not one we read, as specific as its first bytes allow. */
function unknownFormat(b: Uint8Array): string {
  if (b.length === 0) return 'empty file: not a trace set, shard or routing log';
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) return 'UTF-16 text (byte order mark); routing logs must be UTF-8';
  return 'not a trace set, Arrow shard or routing log (expected manifest.json, an Arrow IPC file, JSONL records with "layer" and "experts", or a hook CSV)';
}

async function validateTraceSet(dir: string, decoder: GuardedDecoder, hints?: ShapeHints): Promise<Omit<ValidateReport, 'ms'>> {
  const set = await readTraceSet(dirSource(dir), { decode: (b, m, w, n) => (checkIpcStructure(b, w), decoder.decode(b, m, w, n)) });
  const m = set.manifest;
  checkShape(m, hints, join(dir, 'manifest.json'));
  let tokens = 0;
  for (const c of set.chunks) tokens += c.tokens;
  const sequences = countSequences(set.chunks);
  return {
    ok: true,
    path: dir,
    kind: 'trace-set',
    tokens,
    sequences,
    layers: m.numLayers,
    experts: m.numExperts,
    topK: m.topK,
    shards: m.shards.length,
    droppedTokens: m.droppedTokens,
    summary: `ok: trace set ${dir}: ${m.shards.length} shard${m.shards.length === 1 ? '' : 's'}, ${tokens} tokens in ${sequences} sequences, ${shape(m)} (manifest, checksums, schema, ranges and order checked)`,
  };
}

/** The manifest beside a shard, when it parses and lists the shard; else undefined. */
async function siblingManifest(path: string): Promise<Manifest | undefined> {
  const text = await readFile(join(dirname(path), 'manifest.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const m = parseManifest(text);
    return m.shards.some((s) => s.file === basename(path)) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function validateShard(path: string, bytes: Uint8Array, decoder: GuardedDecoder, hints: ShapeHints | undefined): Promise<Omit<ValidateReport, 'ms'>> {
  // The structure check is linear and bounded, so it runs here: most malformed files never need the worker.
  checkIpcStructure(bytes, path);
  const m = hints && Object.values(hints).some((v) => v !== undefined) ? undefined : await siblingManifest(path);
  if (m) {
    const entry = m.shards.find((s) => s.file === basename(path))!;
    const sum = await sha256Hex(bytes);
    if (sum !== entry.sha256) throw new TraceError(`SHA-256 is ${sum}, the manifest beside it says ${entry.sha256} (corrupted or replaced file)`, path);
    const chunk = await decoder.decode(bytes, m, path, entry.tokens);
    const sequences = countSequences([chunk]);
    const manifest = join(dirname(path), 'manifest.json');
    return {
      ok: true,
      path,
      kind: 'shard',
      tokens: chunk.tokens,
      sequences,
      layers: m.numLayers,
      experts: m.numExperts,
      topK: m.topK,
      manifest,
      summary: `ok: shard ${path}: ${chunk.tokens} tokens in ${sequences} sequences, ${shape(m)} (checked against ${manifest}: checksum, schema, ranges and order)`,
    };
  }
  const r = await decoder.inspect(bytes, path, hints);
  const sequences = countSequences([r.chunk]);
  const inf = r.inferred;
  const how = [`layers: ${inf.numLayers}`, `top-k: ${inf.topK}`, `experts: ${inf.numExperts}`].filter((s) => !s.endsWith(': given'));
  return {
    ok: true,
    path,
    kind: 'shard',
    tokens: r.chunk.tokens,
    sequences,
    layers: r.manifest.numLayers,
    experts: r.manifest.numExperts,
    topK: r.manifest.topK,
    inferred: inf,
    summary:
      `ok: shard ${path}: ${r.chunk.tokens} tokens in ${sequences} sequences, ${shape(r.manifest)} (no manifest: schema, ranges and order checked` +
      (how.length ? `; inferred ${how.join('; ')}; pass --layers/--top-k/--experts to check a known shape)` : ')'),
  };
}

async function validateLogs(
  files: RawFile[],
  fmt: 'jsonl' | 'hook-csv',
  label: string,
  decoder: GuardedDecoder,
  hints?: ShapeHints,
): Promise<Omit<ValidateReport, 'ms'>> {
  // The expert count goes to the importer, as `import --experts` does: ids at or past it are reported where they are.
  const r = await decoder.importFiles(files, fmt, hints?.numExperts === undefined ? {} : { numExperts: hints.numExperts });
  const m = r.set.manifest;
  checkShape(m, hints, label);
  const what = fmt === 'jsonl' ? 'JSONL routing log' : 'hook CSV routing log';
  return {
    ok: true,
    path: label,
    kind: fmt,
    tokens: r.tokens,
    sequences: r.sequences,
    layers: m.numLayers,
    experts: m.numExperts,
    topK: m.topK,
    files: files.length,
    records: r.records,
    droppedTokens: r.droppedTokens,
    summary:
      `ok: ${what}${files.length > 1 ? `s (${files.length} files)` : ''} ${label}: ${r.records} records, ${r.tokens} complete tokens (${r.droppedTokens} dropped) in ${r.sequences} sequences, ` +
      `${shape(m)} (${hints?.numExperts === undefined ? 'experts inferred as largest id + 1' : 'experts as given'}${hints?.numLayers !== undefined || hints?.topK !== undefined ? '; given layers and top-k checked' : ''})`,
  };
}

/** A folder without manifest.json: the routing logs in it (and its subfolders), all of one format. */
async function validateLogFolder(dir: string, decoder: GuardedDecoder, hints?: ShapeHints): Promise<Omit<ValidateReport, 'ms'>> {
  const files: RawFile[] = [];
  let fmt: 'jsonl' | 'hook-csv' | undefined;
  let arrows = 0;
  const visit = async (p: string): Promise<void> => {
    const s = await stat(p);
    if (s.isDirectory()) {
      for (const e of (await readdir(p)).sort()) await visit(join(p, e));
      return;
    }
    const bytes = await readAll(p);
    if (isArrow(bytes)) {
      arrows++;
      return;
    }
    const f = detectFormat('', bytes.subarray(0, SNIFF_BYTES));
    if (f !== 'jsonl' && f !== 'hook-csv') return;
    if (fmt !== undefined && f !== fmt) throw new TraceError(`is ${f}, but ${relative(dir, files[0].name)} is ${fmt}: one format per folder`, p);
    fmt = f;
    files.push({ name: p, data: bytes });
  };
  await visit(dir);
  if (!fmt) {
    if (arrows)
      throw new TraceError(`no manifest.json (the folder holds ${arrows} Arrow file${arrows === 1 ? '' : 's'}: name one to check it as a lone shard)`, dir);
    throw new TraceError('no manifest.json and no routing logs (JSONL or hook CSV) in this folder', dir);
  }
  return validateLogs(files, fmt, dir, decoder, hints);
}
