/**
 * Analyses split over contiguous parts of a trace set (one per worker), with results equal to one pass over the
 * whole: each part starts from the last token before it that the dataset filter keeps (TraceAnalyzer.seed), and
 * the parts' counts add up.
 */
import type { TraceChunk, TraceShape } from '../trace/types';
import { TraceAnalyzer, type AnalysisCounts, type AnalyzeOptions } from './analyzer';

export interface AnalysisPart {
  /** Indices of the part's chunks, contiguous and in trace order. */
  chunks: number[];
  /** The previous analysed token (a row of an earlier chunk), or null when the part starts the trace. */
  seed: { chunk: number; row: number } | null;
}

/** The last row before chunk `before` that the filter keeps, or null. */
export function lastKeptBefore(chunks: readonly TraceChunk[], before: number, filter?: ReadonlySet<number>): { chunk: number; row: number } | null {
  for (let ci = before - 1; ci >= 0; ci--) {
    const c = chunks[ci];
    for (let t = c.tokens - 1; t >= 0; t--) if (!filter || filter.has(c.dataset[t])) return { chunk: ci, row: t };
  }
  return null;
}

/** Tokens of a chunk that the filter keeps (all of them without a filter). */
export function keptTokens(c: TraceChunk, filter?: ReadonlySet<number>): number {
  if (!filter) return c.tokens;
  let n = 0;
  for (let t = 0; t < c.tokens; t++) if (filter.has(c.dataset[t])) n++;
  return n;
}

/**
 * Splits the chunks into at most `parts` contiguous groups of about equal counts of the tokens the filter keeps
 * (a filter that keeps datasets stored together would otherwise leave all the work to one part).
 */
export function planParts(chunks: readonly TraceChunk[], parts: number, filter?: ReadonlySet<number>): AnalysisPart[] {
  const weights = chunks.map((c) => keptTokens(c, filter));
  const total = weights.reduce((n, w) => n + w, 0);
  const want = Math.max(1, Math.min(parts, chunks.length));
  const out: AnalysisPart[] = [];
  let acc = 0;
  let current: number[] = [];
  chunks.forEach((_c, i) => {
    current.push(i);
    acc += weights[i];
    // Close a part once it reached its share of the tokens (the last part takes the rest).
    if (out.length < want - 1 && acc >= ((out.length + 1) * total) / want) {
      out.push({ chunks: current, seed: null });
      current = [];
    }
  });
  if (current.length || out.length === 0) out.push({ chunks: current, seed: null });
  for (const p of out) if (p.chunks.length) p.seed = lastKeptBefore(chunks, p.chunks[0], filter);
  return out;
}

/** The previous token as a one-row chunk (copied), small enough to send along with a part. */
export function seedRow(c: TraceChunk, row: number, shape: TraceShape): TraceChunk {
  const LK = shape.numLayers * shape.topK;
  return {
    tokens: 1,
    seq: c.seq.slice(row, row + 1),
    pos: c.pos.slice(row, row + 1),
    dataset: c.dataset.slice(row, row + 1),
    experts: c.experts.slice(row * LK, (row + 1) * LK),
  };
}

/** One part's counts: its chunks in order, after the seed token. */
export function analyzePart(shape: TraceShape, opts: AnalyzeOptions, chunks: readonly TraceChunk[], seed: TraceChunk | null): AnalysisCounts {
  const a = new TraceAnalyzer(shape, opts);
  if (seed) a.seed(seed, 0);
  for (const c of chunks) a.add(c);
  return a.counts;
}

/** Adds `b` into `a` (counts of disjoint parts of one trace). */
export function addCounts(a: AnalysisCounts, b: AnalysisCounts): AnalysisCounts {
  a.tokens += b.tokens;
  a.sequences += b.sequences;
  a.consecutivePairs += b.consecutivePairs;
  for (const k of ['selections', 'coactivation', 'transitions', 'reuseFirst', 'reuseAny'] as const) {
    const x = a[k];
    const y = b[k];
    for (let i = 0; i < x.length; i++) x[i] += y[i];
  }
  return a;
}
