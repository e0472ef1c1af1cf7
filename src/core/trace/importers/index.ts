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

function decode(f: RawFile): InputFile {
  if (typeof f.data === 'string') return { name: f.name, text: f.data };
  try {
    return { name: f.name, text: new TextDecoder('utf-8', { fatal: true }).decode(f.data) };
  } catch {
    throw new TraceError('not valid UTF-8 text', f.name);
  }
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
