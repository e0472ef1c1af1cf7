/**
 * Raw routing-log importers: detect a file's format and turn files into an in-memory TraceSet.
 * Callers (CLI, page) read the files; everything here works on contents, in Node and in browser workers.
 */
import { TraceError } from '../types';
import type { ImportOptions, ImportResult, InputFile } from './common';
import { HOOK_CSV_COLUMNS, importHookCsv, naturalCompare } from './hookCsv';
import { importJsonl } from './jsonl';
import { flameRole, importFlameMoe, isParquet } from './flameMoe';
import { importHfRouterLogits, isSafetensors } from './hfRouterLogits';
import { importSglang } from './sglang';
import { importVllmJsonl, importVllmNumpy, isNpy } from './vllm';

export type { ImportOptions, ImportResult, InputFile } from './common';
export { importHookCsv, naturalCompare, parseIdList, HOOK_CSV_COLUMNS } from './hookCsv';
export { importJsonl } from './jsonl';
export { importVllmJsonl, importVllmNumpy } from './vllm';
export { importSglang } from './sglang';
export { importHfRouterLogits } from './hfRouterLogits';
export { importFlameMoe } from './flameMoe';

/** The raw-log formats the importers read, for --format and messages. */
export const IMPORT_FORMATS = ['jsonl', 'hook-csv', 'vllm', 'sglang', 'hf-router-logits', 'flame-moe'] as const;
export type LogFormat = (typeof IMPORT_FORMATS)[number];
export type DetectedFormat = LogFormat | 'trace-manifest' | 'arrow' | null;
export type ImportFormat = 'auto' | LogFormat;
/** Formats whose files are binary (never checked as UTF-8 text). */
const BINARY_MAGIC = (b: Uint8Array) => isNpy(b) || isZip(b) || isSafetensors(b) || isParquet(b);
const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/** A file as handed over by a caller: text, or raw bytes (decoded as UTF-8). */
export interface RawFile {
  name: string;
  data: string | Uint8Array;
}

/** How many leading bytes detectFormat needs to see (a vLLM or SGLang request line can be long). */
export const SNIFF_BYTES = 65536;

function head(firstBytes: string | Uint8Array): string {
  if (typeof firstBytes === 'string') return firstBytes.slice(0, SNIFF_BYTES);
  // Non-fatal decode: the sample may end inside a multi-byte character.
  return new TextDecoder('utf-8').decode(firstBytes.subarray(0, SNIFF_BYTES));
}

/**
 * Guesses a file's format from its contents first (names lie, e.g. a ".txt" export), then its extension.
 * `firstBytes` is the start of the file (SNIFF_BYTES is plenty).
 */
export function detectFormat(name: string, firstBytes: string | Uint8Array): DetectedFormat {
  const lower = name.toLowerCase();
  if (typeof firstBytes !== 'string' && firstBytes.length >= 6) {
    // Arrow IPC files (and Feather v2) begin with the magic "ARROW1".
    const magic = String.fromCharCode(...firstBytes.subarray(0, 6));
    if (magic === 'ARROW1') return 'arrow';
    if (isNpy(firstBytes)) return 'vllm';
    if (isZip(firstBytes)) return lower.endsWith('.npz') ? 'vllm' : null;
    if (isSafetensors(firstBytes)) return 'hf-router-logits';
    if (isParquet(firstBytes)) return flameRole(name) ? 'flame-moe' : null;
  }
  const text = head(firstBytes).replace(/^\uFEFF/, '');
  if (text.startsWith('ARROW1')) return 'arrow';
  const start = text.trimStart();
  if (start.startsWith('{')) {
    if (/"format"\s*:\s*"speclab-trace"/.test(start)) return 'trace-manifest';
    const firstLine = start.split('\n', 1)[0];
    if (/"routed_experts"\s*:\s*\[/.test(firstLine)) return 'vllm';
    if (/"routed_experts"\s*:\s*"/.test(firstLine)) return 'sglang';
    if (/"experts"\s*:/.test(firstLine) && /"layer"\s*:/.test(firstLine)) return 'jsonl';
  }
  const firstLine = text.split(/\r?\n/, 1)[0];
  if (HOOK_CSV_COLUMNS.every((c) => firstLine.includes(c))) return 'hook-csv';

  if (lower.endsWith('manifest.json')) return 'trace-manifest';
  if (lower.endsWith('.arrow') || lower.endsWith('.feather')) return 'arrow';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'hook-csv';
  if (lower.endsWith('.npy') || lower.endsWith('.npz')) return 'vllm';
  if (lower.endsWith('.safetensors')) return 'hf-router-logits';
  if (lower.endsWith('.parquet') && flameRole(name)) return 'flame-moe';
  return null;
}

/** A folder member: the format its contents show, or null and why it is not read. */
export interface Classified {
  format: DetectedFormat;
  reason?: string;
}

/**
 * Judges a file found inside a folder by its contents alone (names lie: a folder of logs may hold other JSONL,
 * e.g. generated text), except that Parquet files count only at their FLAME-MoE places. Unread files get a reason.
 */
export function classifyFile(path: string, firstBytes: string | Uint8Array): Classified {
  const bytes = typeof firstBytes === 'string' ? null : firstBytes;
  if (bytes && isParquet(bytes))
    return flameRole(path) ? { format: 'flame-moe' } : { format: null, reason: 'Parquet file outside a FLAME-MoE samples/ or actives/<iter>/ folder' };
  const byContent = detectFormat(bytes && isZip(bytes) && path.toLowerCase().endsWith('.npz') ? 'x.npz' : '', firstBytes);
  if (byContent !== null) return { format: byContent };
  const text = head(firstBytes)
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('{')) {
    const complete = text.includes('\n') || text.length < SNIFF_BYTES;
    return {
      format: null,
      reason: complete
        ? 'JSON without routing fields (none of "layer"+"experts", "routed_experts", meta_info.routed_experts)'
        : `its first JSON line is longer than ${SNIFF_BYTES} bytes and shows no routing field there; import it by name with --format`,
    };
  }
  if (bytes && BINARY_MAGIC(bytes)) return { format: null, reason: 'binary file of no routing layout' };
  if (/^[^\n]*,/.test(text)) return { format: null, reason: `CSV without the hook columns ${HOOK_CSV_COLUMNS.join(', ')}` };
  return { format: null, reason: 'not a routing log (unrecognised contents)' };
}

/** Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and values past U+10FFFF included), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    // The second byte's range is narrower after E0 (overlong), ED (surrogates), F0 (overlong) and F4 (> U+10FFFF).
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** Rejects text encodings the importers do not read, naming the file (and line) where it shows. */
function checkEncoding(f: RawFile): void {
  if (typeof f.data === 'string') return;
  const b = f.data;
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)))
    throw new TraceError('UTF-16 text (byte order mark at the start); save routing logs as UTF-8', f.name);
  const bad = firstInvalidUtf8(b);
  if (bad >= 0) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (b[i] === 10) line++;
    throw new TraceError(`not valid UTF-8 text (byte 0x${b[bad].toString(16).padStart(2, '0')} at offset ${bad}, line ${line})`, f.name);
  }
}

function decode(f: RawFile): InputFile {
  if (typeof f.data === 'string') return { name: f.name, text: f.data };
  checkEncoding(f);
  return { name: f.name, text: new TextDecoder('utf-8').decode(f.data) };
}

/**
 * Imports raw logs of one format. With 'auto' every file must detect as the same importable format.
 * hook-csv files are put in natural name order (prompt_2 before prompt_10), which fixes the sequence ids.
 */
export function importFiles(files: RawFile[], format: ImportFormat = 'auto', opts: ImportOptions = {}): ImportResult {
  const fmt = resolveFormat(files, format);
  if (fmt === 'flame-moe') throw new TraceError('FLAME-MoE Parquet is read asynchronously (importFilesAsync)', files[0].name);
  return importAs(fmt, files, opts);
}

/** importFiles for every format, FLAME-MoE Parquet included (its reader is asynchronous). */
export async function importFilesAsync(files: RawFile[], format: ImportFormat = 'auto', opts: ImportOptions = {}): Promise<ImportResult> {
  const fmt = resolveFormat(files, format);
  if (fmt === 'flame-moe') return importFlameMoe(files.map(binary), opts);
  return importAs(fmt, files, opts);
}

function binary(f: RawFile): { name: string; bytes: Uint8Array } {
  return { name: f.name, bytes: typeof f.data === 'string' ? new TextEncoder().encode(f.data) : f.data };
}

function importAs(fmt: Exclude<LogFormat, 'flame-moe'>, files: RawFile[], opts: ImportOptions): ImportResult {
  switch (fmt) {
    case 'jsonl':
      return importJsonl(files.map(decode), opts);
    case 'hook-csv':
      return importHookCsv(
        files.map(decode).sort((a, b) => naturalCompare(a.name, b.name)),
        opts,
      );
    case 'vllm': {
      const bin = files.filter((f) => typeof f.data !== 'string' && (isNpy(f.data) || isZip(f.data)));
      if (bin.length === files.length) return importVllmNumpy(bin.map(binary), opts);
      if (bin.length) throw new TraceError('mixes NumPy arrays and JSON Lines; import them separately', bin[0].name);
      return importVllmJsonl(files.map(decode), opts);
    }
    case 'sglang':
      return importSglang(files.map(decode), opts);
    case 'hf-router-logits':
      return importHfRouterLogits(files.map(binary), opts);
  }
}

function resolveFormat(files: RawFile[], format: ImportFormat): LogFormat {
  if (files.length === 0) throw new TraceError('empty input: no files given', '(no files)');
  let fmt: LogFormat;
  if (format === 'auto') {
    let found: DetectedFormat | undefined;
    let foundIn = '';
    for (const f of files) {
      if (typeof f.data === 'string' || !BINARY_MAGIC(f.data)) checkEncoding(f);
      const d = detectFormat(f.name, typeof f.data === 'string' ? f.data.slice(0, SNIFF_BYTES) : f.data.subarray(0, SNIFF_BYTES));
      if (d === 'trace-manifest' || d === 'arrow')
        throw new TraceError(`is already a SpecLab trace set file (${d}); open it as a trace set instead of importing`, f.name);
      if (d === null)
        throw new TraceError(`unrecognised format: expected one of ${IMPORT_FORMATS.join(', ')} (give --format if the contents are ambiguous)`, f.name);
      if (found !== undefined && d !== found) throw new TraceError(`format ${d} differs from ${found} of ${foundIn}`, f.name);
      found = d;
      foundIn = f.name;
    }
    fmt = found as LogFormat;
  } else {
    fmt = format;
  }
  return fmt;
}
