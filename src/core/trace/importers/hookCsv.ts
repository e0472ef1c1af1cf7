/**
 * Per-layer CSV from forward hooks (e.g. DeepSeek-V2-Lite "moe-beyond" traces):
 * columns `Layer ID, Batch Number, Token, Activated Expert IDs`; one file is one sequence and each layer's
 * rows list the sequence's tokens in order, so a token's position is its row index within its layer.
 */
import Papa from 'papaparse';
import { LIMITS } from '../manifest';
import { TraceError, type TraceChunk } from '../types';
import {
  buildResult,
  checkLayerId,
  checkNumExpertsOption,
  checkTopK,
  ExpertChecker,
  parentFolder,
  requireInput,
  requireTokens,
  resolveNumExperts,
  type ImportOptions,
  type ImportResult,
  type InputFile,
  orderedLayerIds,
} from './common';

export const HOOK_CSV_COLUMNS = ['Layer ID', 'Batch Number', 'Token', 'Activated Expert IDs'] as const;
const F_LAYER = '"Layer ID"';
const F_BATCH = '"Batch Number"';
const F_EXPERTS = '"Activated Expert IDs"';

/**
 * Natural order for file names: digit runs compare as numbers, so prompt_2 < prompt_10.
 * Ties (e.g. "01" vs "1") fall back to plain code-unit order so the order is total and stable.
 */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    const dx = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const dy = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (dx && dy) {
      // Compare digit runs by value without Number(): strip leading zeros, then length, then text.
      const nx = x.replace(/^0+(?=\d)/, '');
      const ny = y.replace(/^0+(?=\d)/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const ws = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses an id list like "[8, 26, 56]" into `out` (cleared first). Returns false when the text is not a
 * bracketed comma-separated list of numbers. Negative or fractional numbers are returned as read so the
 * range check can name them. Digit-only elements take a fast path: this runs once per CSV row.
 */
export function parseIdList(s: string, out: number[]): boolean {
  out.length = 0;
  const n = s.length;
  let i = 0;
  while (i < n && ws(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 91 /* [ */) return false;
  i++;
  while (i < n && ws(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) === 93 /* ] */) {
    i++;
  } else {
    for (;;) {
      while (i < n && ws(s.charCodeAt(i))) i++;
      const start = i;
      let v = 0;
      let plain = true;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c === 44 || c === 93 || ws(c)) break;
        if (c >= 48 && c <= 57) v = v * 10 + (c - 48);
        else plain = false;
      }
      if (i === start) return false;
      if (!plain) {
        const tok = s.slice(start, i);
        if (!NUMBER.test(tok)) return false;
        v = Number(tok);
      }
      out.push(v);
      while (i < n && ws(s.charCodeAt(i))) i++;
      const c = s.charCodeAt(i++);
      if (c === 93) break;
      if (c !== 44 /* , */) return false;
    }
  }
  while (i < n && ws(s.charCodeAt(i))) i++;
  return i === n;
}

/** Rows of one layer in one file: expert ids, K per row, in a growable Int16Array. */
class LayerRows {
  count = 0;
  ids: Int16Array;
  constructor(k: number) {
    this.ids = new Int16Array(64 * k);
  }
  push(src: number[], k: number): void {
    const at = this.count * k;
    if (at + k > this.ids.length) {
      const grown = new Int16Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    for (let j = 0; j < k; j++) this.ids[at + j] = src[j];
    this.count++;
  }
}

interface ParsedFile {
  layers: Map<number, LayerRows>;
  /** Token text of the lowest layer this file has (the only one a kept token's text can come from). */
  textLayer: number;
  texts: string[];
  dataset: number;
}

function clip(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}

/**
 * The file's line break, read off the header line (which never holds quoted newlines). Passing it saves
 * papaparse's guess, which scans the text, and keeps "\r\n" inside a quoted token from fooling it.
 */
function lineBreak(text: string): '\n' | '\r\n' {
  const nl = text.indexOf('\n');
  return nl > 0 && text.charCodeAt(nl - 1) === 13 ? '\r\n' : '\n';
}

/** 1-based line number of character `offset` of `text`; only called to report an error. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let p = text.indexOf('\n'); p >= 0 && p < offset; p = text.indexOf('\n', p + 1)) line++;
  return line;
}

export function importHookCsv(files: InputFile[], opts: ImportOptions = {}): ImportResult {
  const givenE = checkNumExpertsOption(opts.numExperts);
  const checker = new ExpertChecker(givenE);
  const layerIds = new Set<number>();
  const datasets: string[] = [];
  const datasetIndex = new Map<string, number>();
  let topK = -1;
  let topKWhere = '';
  let records = 0;
  const ids: number[] = [];
  const parsed: ParsedFile[] = [];

  for (const file of files) {
    const name = opts.dataset ?? parentFolder(file.name) ?? 'default';
    let d = datasetIndex.get(name);
    if (d === undefined) {
      if (datasets.length >= LIMITS.maxDatasets) throw new TraceError(`more than ${LIMITS.maxDatasets} datasets`, file.name);
      d = datasets.length;
      datasets.push(name);
      datasetIndex.set(name, d);
    }
    const pf: ParsedFile = { layers: new Map(), textLayer: Infinity, texts: [], dataset: d };
    parsed.push(pf);

    const text = file.text.charCodeAt(0) === 0xfeff ? file.text.slice(1) : file.text;
    let col: number[] | null = null; // positions of HOOK_CSV_COLUMNS in the header
    let nFields = 0;
    let rowStart = 0; // offset where the current row starts: papaparse's cursor after the previous row
    const where = () => `${file.name}:${lineAt(text, rowStart)}`;

    const onRow = (row: string[]): void => {
      if (col === null) {
        const names = row.map((h) => h.trim());
        col = HOOK_CSV_COLUMNS.map((c) => names.indexOf(c));
        const missing = HOOK_CSV_COLUMNS.filter((_, i) => col![i] < 0);
        if (missing.length > 0)
          throw new TraceError(
            `CSV header: expected columns ${HOOK_CSV_COLUMNS.join(', ')}; missing ${missing.map((m) => `"${m}"`).join(', ')} (got ${clip(row.join(','))})`,
            where(),
          );
        nFields = row.length;
        return;
      }
      if (row.length === 1 && row[0] === '') return; // blank line
      if (row.length !== nFields) throw new TraceError(`expected ${nFields} fields as in the header, got ${row.length}`, where());
      records++;
      const [cLayer, cBatch, cToken, cExperts] = col;

      const layerText = row[cLayer].trim();
      const layer = /^\d{1,7}$/.test(layerText) ? Number(layerText) : NaN;
      if (Number.isNaN(layer)) throw new TraceError(`${F_LAYER}: expected an integer layer id, got ${clip(layerText)}`, where());
      if (!layerIds.has(layer)) {
        const bad = checkLayerId(layer, layerIds.size, F_LAYER);
        if (bad !== null) throw new TraceError(bad, where());
        layerIds.add(layer);
      }
      const batch = row[cBatch].trim();
      if (batch !== '0') throw new TraceError(`${F_BATCH}: expected 0 (one sequence per file, batch size 1), got ${clip(batch)}`, where());
      if (!parseIdList(row[cExperts], ids))
        throw new TraceError(`${F_EXPERTS}: expected a list of integer expert ids like [1, 2, 3], got ${clip(row[cExperts])}`, where());
      if (topK < 0) {
        const bad = checkTopK(ids.length, givenE, F_EXPERTS);
        if (bad !== null) throw new TraceError(bad, where());
        topK = ids.length;
        topKWhere = where();
      } else if (ids.length !== topK) {
        throw new TraceError(`${F_EXPERTS}: expected ${topK} expert ids (top-k set by ${topKWhere}), got ${ids.length}`, where());
      }
      const bad = checker.check(ids, 0, topK, F_EXPERTS);
      if (bad !== null) throw new TraceError(bad, where());

      let lr = pf.layers.get(layer);
      if (lr === undefined) {
        lr = new LayerRows(topK);
        pf.layers.set(layer, lr);
        // A lower layer first appears with its row 0, so restarting the text list keeps positions aligned.
        if (layer < pf.textLayer) {
          pf.textLayer = layer;
          pf.texts = [];
        }
      }
      if (layer === pf.textLayer) pf.texts.push(row[cToken]);
      lr.push(ids, topK);
    };

    // Step mode: each row becomes garbage at once (a whole-file parse keeps every row alive and measured
    // ~3x slower, mostly GC). An explicit newline spares papaparse's guess, which rescans the text.
    let failure: unknown = null;
    Papa.parse<string[]>(text, {
      delimiter: ',',
      newline: lineBreak(text),
      step: (res, parser) => {
        try {
          if (res.errors.length > 0) throw new TraceError(`malformed CSV: ${res.errors[0].message}`, where());
          onRow(res.data);
          rowStart = res.meta.cursor;
        } catch (e) {
          failure = e;
          parser.abort();
        }
      },
    });
    if (failure !== null) throw failure;
    if (col === null) throw new TraceError(`CSV header missing: expected ${HOOK_CSV_COLUMNS.join(', ')}`, `${file.name}:1`);
  }

  requireInput(files, records, 'CSV data rows');
  const numExperts = resolveNumExperts(givenE, checker.maxId, files[0].name);
  const moeLayerIds = orderedLayerIds(layerIds, opts.allowLayerGaps, files[0].name);
  const L = moeLayerIds.length;
  const K = topK;

  // A file's kept tokens are the positions every layer reaches; the rest of its longest layer is dropped.
  const kept = parsed.map((pf) => {
    let min = Infinity;
    for (const id of moeLayerIds) min = Math.min(min, pf.layers.get(id)?.count ?? 0);
    return min;
  });
  let dropped = 0;
  parsed.forEach((pf, f) => {
    let max = 0;
    for (const rows of pf.layers.values()) max = Math.max(max, rows.count);
    dropped += max - kept[f];
  });
  const n = kept.reduce((a, b) => a + b, 0);
  requireTokens(files, n, dropped, L);

  const chunk: TraceChunk = {
    tokens: n,
    seq: new Int32Array(n),
    pos: new Int32Array(n),
    dataset: new Uint16Array(n),
    tokenText: new Array<string>(n),
    experts: new Int16Array(n * L * K),
  };
  let t0 = 0;
  let sequences = 0;
  parsed.forEach((pf, f) => {
    const m = kept[f];
    if (m === 0) return;
    sequences++;
    for (let i = 0; i < m; i++) {
      chunk.seq[t0 + i] = f;
      chunk.pos[t0 + i] = i;
      chunk.dataset[t0 + i] = pf.dataset;
      chunk.tokenText![t0 + i] = pf.texts[i];
    }
    moeLayerIds.forEach((id, l) => {
      const src = pf.layers.get(id)!.ids;
      for (let i = 0; i < m; i++) {
        const out = ((t0 + i) * L + l) * K;
        for (let j = 0; j < K; j++) chunk.experts[out + j] = src[i * K + j];
      }
    });
    t0 += m;
  });

  return buildResult(
    {
      importer: 'hook-csv',
      files: files.map((f) => f.name),
      opts,
      numLayers: L,
      numExperts,
      topK: K,
      moeLayerIds,
      datasets,
      hasWeights: false,
      hasTokenText: true,
      droppedTokens: dropped,
    },
    chunk,
    records,
    sequences,
  );
}
