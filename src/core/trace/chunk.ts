import type { TraceChunk, TraceSet, TraceShape } from './types';

/** Rows [start, end) of a chunk, as views (no copy). */
export function sliceChunk(c: TraceChunk, shape: TraceShape, start: number, end: number): TraceChunk {
  const LK = shape.numLayers * shape.topK;
  const LE = shape.numLayers * shape.numExperts;
  return {
    tokens: end - start,
    seq: c.seq.subarray(start, end),
    pos: c.pos.subarray(start, end),
    dataset: c.dataset.subarray(start, end),
    experts: c.experts.subarray(start * LK, end * LK),
    ...(c.tokenId && { tokenId: c.tokenId.subarray(start, end) }),
    ...(c.tokenText && { tokenText: c.tokenText.slice(start, end) }),
    ...(c.weights && { weights: c.weights.subarray(start * LK, end * LK) }),
    ...(c.logits && { logits: c.logits.subarray(start * LE, end * LE) }),
    ...(c.lookahead && { lookahead: c.lookahead.subarray(start * lookaheadWidth(c), end * lookaheadWidth(c)) }),
  };
}

/** Lookahead logits per row (L·H·E), from the column itself: the shape alone does not carry the horizon H. */
export function lookaheadWidth(c: TraceChunk): number {
  return c.lookahead && c.tokens > 0 ? c.lookahead.length / c.tokens : 0;
}

/** Splits a trace set's chunks into pieces of at most `maxTokens` rows (shards for writing). */
export function rechunk(set: TraceSet, maxTokens: number): TraceChunk[] {
  const shape = set.manifest;
  const out: TraceChunk[] = [];
  for (const c of set.chunks) for (let s = 0; s < c.tokens; s += maxTokens) out.push(sliceChunk(c, shape, s, Math.min(c.tokens, s + maxTokens)));
  return out;
}
