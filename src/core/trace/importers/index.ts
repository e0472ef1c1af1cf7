/**
 * Raw routing-log importers: detect a file's format and turn files into an in-memory TraceSet.
 * Callers (CLI, page) read the files; everything here works on contents, in Node and in browser workers.
 */
import { TraceError } from '../types';
import type { ImportOptions, ImportResult, InputFile } from './common';
import { HOOK_CSV_COLUMNS, importHookCsv, naturalCompare } from './hookCsv';
import { importJsonl } from './jsonl';

export type { ImportOptions, ImportResult, InputFile } from './common';
export { importHookCsv, naturalCompare, parseIdList, HOOK_CSV_COLUMNS } from './hookCsv';
export { importJsonl } from './jsonl';

export type DetectedFormat = 'jsonl' | 'hook-csv' | 'trace-manifest' | 'arrow' | null;
export type ImportFormat = 'auto' | 'jsonl' | 'hook-csv';

/** A file as handed over by a caller: text, or raw bytes (decoded as UTF-8). */
export interface RawFile {
  name: string;
  data: string | Uint8Array;
}

/** How many leading bytes detectFormat needs to see. */
export const SNIFF_BYTES = 4096;

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
  }
  const text = head(firstBytes).replace(/^\uFEFF/, '');
  if (text.startsWith('ARROW1')) return 'arrow';
  const start = text.trimStart();
  if (start.startsWith('{')) {
    if (/"format"\s*:\s*"speclab-trace"/.test(start)) return 'trace-manifest';
    const firstLine = start.split('\n', 1)[0];
    if (/"experts"\s*:/.test(firstLine) && /"layer"\s*:/.test(firstLine)) return 'jsonl';
  }
  const firstLine = text.split(/\r?\n/, 1)[0];
  if (HOOK_CSV_COLUMNS.every((c) => firstLine.includes(c))) return 'hook-csv';

  if (lower.endsWith('manifest.json')) return 'trace-manifest';
  if (lower.endsWith('.arrow') || lower.endsWith('.feather')) return 'arrow';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'hook-csv';
  return null;
}

/** Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and values past U+10FFFF included), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
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
  if (files.length === 0) throw new TraceError('empty input: no files given', '(no files)');
  let fmt: 'jsonl' | 'hook-csv';
  if (format === 'auto') {
    let found: DetectedFormat | undefined;
    let foundIn = '';
    for (const f of files) {
      checkEncoding(f);
      const d = detectFormat(f.name, typeof f.data === 'string' ? f.data.slice(0, SNIFF_BYTES) : f.data.subarray(0, SNIFF_BYTES));
      if (d === 'trace-manifest' || d === 'arrow')
        throw new TraceError(`is already a SpecLab trace set file (${d}); open it as a trace set instead of importing`, f.name);
      if (d === null) throw new TraceError('unrecognised format: expected routing JSONL or hook CSV', f.name);
      if (found !== undefined && d !== found) throw new TraceError(`format ${d} differs from ${found} of ${foundIn}`, f.name);
      found = d;
      foundIn = f.name;
    }
    fmt = found as "jsonl" | "hook-csv";
  } else {
    fmt = format;
  }
  const inputs = files.map(decode);
  if (fmt === 'jsonl') return importJsonl(inputs, opts);
  return importHookCsv([...inputs].sort((a, b) => naturalCompare(a.name, b.name)), opts);
}
