/**
 * The token view's data: a trace set's sequences under a dataset filter, and windows of their tokens (text, ids,
 * each layer's chosen experts and weights), so a page can show a 100k-token set a screenful at a time.
 */
import type { TraceSet } from '../trace/types';

/** Where one sequence's tokens lie: runs of rows in chunks (a sequence may span chunks). */
export interface SequenceEntry {
  seq: number;
  /** Index into manifest.datasets. */
  dataset: number;
  tokens: number;
  /** [chunk, first row, rows], in position order. */
  runs: [chunk: number, start: number, count: number][];
}

/** The sequences a dataset filter keeps, in trace order, and their token counts summed before each. */
export interface SequenceIndex {
  sequences: SequenceEntry[];
  /** before[i]: tokens of sequences 0..i-1 (length sequences + 1), for windows over every kept token. */
  before: number[];
  tokens: number;
}

/**
 * Indexes the sequences of `set` whose dataset is in `datasets` (null: every dataset). One pass over the seq and
 * dataset columns; nothing is copied.
 */
export function indexSequences(set: TraceSet, datasets: readonly number[] | null): SequenceIndex {
  const keep = datasets ? new Set(datasets) : null;
  const sequences: SequenceEntry[] = [];
  let last: SequenceEntry | null = null;
  set.chunks.forEach((c, ci) => {
    for (let t = 0; t < c.tokens;) {
      const seq = c.seq[t];
      let end = t + 1;
      while (end < c.tokens && c.seq[end] === seq) end++;
      const ds = c.dataset[t];
      if (!keep || keep.has(ds)) {
        if (last && last.seq === seq && last.dataset === ds) {
          last.runs.push([ci, t, end - t]);
          last.tokens += end - t;
        } else {
          last = { seq, dataset: ds, tokens: end - t, runs: [[ci, t, end - t]] };
          sequences.push(last);
        }
      } else last = null;
      t = end;
    }
  });
  const before = [0];
  for (const s of sequences) before.push(before[before.length - 1] + s.tokens);
  return { sequences, before, tokens: before[before.length - 1] };
}

/** A window of tokens: one sequence's rows start..start+count-1, or rows of every kept token in trace order. */
export interface TokenRequest {
  datasets: string[];
  /** Index into the filter's sequence list, or null for every kept token, sequence after sequence. */
  sequence: number | null;
  start: number;
  count: number;
}

export interface TokenWindow {
  /** The filter's sequences: how many, and their tokens in all. */
  sequences: number;
  totalTokens: number;
  /** The requested sequence (null for every token), clamped into range. */
  sequence: { index: number; seq: number; dataset: string; tokens: number } | null;
  /** Rows in the scope (the sequence's tokens, or totalTokens) and the first row returned. */
  rows: number;
  start: number;
  /** Per returned row. */
  seq: Int32Array;
  pos: Int32Array;
  dataset: Uint16Array;
  /** Token text, or null where the trace has none. */
  text: string[] | null;
  tokenId: Int32Array | null;
  /** rows × layers × topK: [(r*L + l)*K + j]. */
  experts: Int16Array;
  weights: Float32Array | null;
}

/** The largest window one request may ask for: a screenful many times over, never the whole of a large set. */
export const MAX_TOKEN_WINDOW = 4096;

/** The rows of `req` from `set` (indexed by `index`); out-of-range requests are clamped, never an error. */
export function tokenWindow(set: TraceSet, index: SequenceIndex, req: Pick<TokenRequest, 'sequence' | 'start' | 'count'>): TokenWindow {
  const m = set.manifest;
  const L = m.numLayers;
  const K = m.topK;
  const n = index.sequences.length;
  const seqIndex = req.sequence === null || n === 0 ? null : clampInt(req.sequence, 0, n - 1);
  const entry = seqIndex === null ? null : index.sequences[seqIndex];
  const rows = entry ? entry.tokens : index.tokens;
  const start = clampInt(req.start, 0, Math.max(0, rows - 1));
  const count = clampInt(req.count, 0, Math.min(MAX_TOKEN_WINDOW, rows - start));
  const hasText = m.hasTokenText;
  const hasIds = m.hasTokenIds;
  const hasWeights = m.hasWeights;
  const out: TokenWindow = {
    sequences: n,
    totalTokens: index.tokens,
    sequence:
      entry && seqIndex !== null
        ? { index: seqIndex, seq: entry.seq, dataset: m.datasets[entry.dataset] ?? String(entry.dataset), tokens: entry.tokens }
        : null,
    rows,
    start,
    seq: new Int32Array(count),
    pos: new Int32Array(count),
    dataset: new Uint16Array(count),
    text: hasText ? new Array<string>(count).fill('') : null,
    tokenId: hasIds ? new Int32Array(count).fill(-1) : null,
    experts: new Int16Array(count * L * K),
    weights: hasWeights ? new Float32Array(count * L * K) : null,
  };
  if (count === 0) return out;
  // The sequences the window crosses: one, or (every token) those from the one holding `start`.
  let s = entry ? seqIndex! : upperBound(index.before, start) - 1;
  let skip = entry ? start : start - index.before[s];
  let r = 0;
  while (r < count && s < n) {
    for (const [ci, first, len] of index.sequences[s].runs) {
      if (r >= count) break;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      const c = set.chunks[ci];
      const take = Math.min(len - skip, count - r);
      const t0 = first + skip;
      out.seq.set(c.seq.subarray(t0, t0 + take), r);
      out.pos.set(c.pos.subarray(t0, t0 + take), r);
      out.dataset.set(c.dataset.subarray(t0, t0 + take), r);
      out.experts.set(c.experts.subarray(t0 * L * K, (t0 + take) * L * K), r * L * K);
      if (out.weights && c.weights) out.weights.set(c.weights.subarray(t0 * L * K, (t0 + take) * L * K), r * L * K);
      if (out.tokenId && c.tokenId) out.tokenId.set(c.tokenId.subarray(t0, t0 + take), r);
      if (out.text && c.tokenText) for (let i = 0; i < take; i++) out.text[r + i] = c.tokenText[t0 + i] ?? '';
      r += take;
      skip = 0;
    }
    if (entry) break;
    s++;
  }
  return out;
}

function clampInt(v: number, lo: number, hi: number): number {
  const x = Number.isFinite(v) ? Math.trunc(v) : lo;
  return Math.max(lo, Math.min(hi, x));
}

/** First index whose value is greater than x (a sorted array). */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
