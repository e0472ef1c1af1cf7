/**
 * Per-token inputs of the sequence model: one entry per token (not per (token, layer) window), so a token's
 * windows share one copy of its routing and its token identity.
 *
 * Adjacency is by position: the previous token of row r is the row of the same sequence at position p-1. A
 * gap (a dropped token) starts a new history, as in `stats`' consecutive pairs.
 */
import type { TraceSet } from '../../core/trace/types';
import type { Vocabulary } from '../models/vocabulary';

/** How many preceding tokens' identities the model sees (t-1, t-2). */
export const TOKEN_HISTORY = 2;

export interface TokenInputs {
  /** Tokens. */
  n: number;
  /** [n*L*K] experts, token-major then layer then rank (a copy: the set's chunks may be views). */
  experts: Int16Array;
  /** [n] row of the previous token (same sequence, position p-1), or -1. */
  prev: Int32Array;
  /** [n] row of the next token (same sequence, position p+1), or -1. */
  next: Int32Array;
  /** [n*(1+TOKEN_HISTORY)] vocabulary indices of tokens t, t-1, t-2 (0: unknown or no such token); empty without a vocabulary. */
  tokens: Int32Array;
  /** Rows of the set that start each chunk (for mapping (chunk, row) to a flat row). */
  chunkStart: number[];
}

export function buildTokenInputs(set: TraceSet, vocabulary: Vocabulary | null): TokenInputs {
  const { numLayers: L, topK: K } = set.manifest;
  const LK = L * K;
  const n = set.chunks.reduce((a, c) => a + c.tokens, 0);
  const experts = new Int16Array(n * LK);
  const prev = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const Q = 1 + TOKEN_HISTORY;
  const tokens = new Int32Array(vocabulary ? n * Q : 0);
  const chunkStart: number[] = [];
  let r = 0;
  let lastSeq = NaN;
  let lastPos = NaN;
  for (const c of set.chunks) {
    chunkStart.push(r);
    experts.set(c.experts.subarray(0, c.tokens * LK), r * LK);
    for (let t = 0; t < c.tokens; t++, r++) {
      const adjacent = c.seq[t] === lastSeq && c.pos[t] === lastPos + 1;
      if (adjacent) {
        prev[r] = r - 1;
        next[r - 1] = r;
      }
      lastSeq = c.seq[t];
      lastPos = c.pos[t];
      if (vocabulary) {
        tokens[r * Q] = vocabulary.indexOf(c, t);
        for (let q = 1; q < Q; q++) {
          const p = q === 1 ? prev[r] : prev[r] >= 0 ? prev[prev[r]] : -1;
          tokens[r * Q + q] = p >= 0 ? tokens[p * Q] : 0;
        }
      }
    }
  }
  return { n, experts, prev, next, tokens, chunkStart };
}

/** The rows of `inputs` that a (chunk, row) filter keeps. */
export function keptRows(inputs: TokenInputs, set: TraceSet, keep: ((chunk: number, row: number) => boolean) | null): Int32Array {
  if (!keep) return Int32Array.from({ length: inputs.n }, (_, i) => i);
  const out: number[] = [];
  set.chunks.forEach((c, ci) => {
    for (let t = 0; t < c.tokens; t++) if (keep(ci, t)) out.push(inputs.chunkStart[ci] + t);
  });
  return Int32Array.from(out);
}

/** The row `offset` tokens from row r in the same sequence (negative: earlier), or -1. */
export function rowFrom(x: TokenInputs, r: number, offset: number): number {
  let q = r;
  for (let i = 0; i < offset && q >= 0; i++) q = x.next[q];
  for (let i = 0; i > offset && q >= 0; i--) q = x.prev[q];
  return q;
}

/**
 * Fills a next-tokens window of row r (context tokens r..r-C+1, identities, the later tokens' identities when
 * `future`) and, when `targets` is given, the experts of tokens r+1..r+H. The row must have the full context and
 * horizon (see `hasTokensWindow`).
 */
export function fillTokensWindow(
  x: TokenInputs,
  r: number,
  L: number,
  K: number,
  C: number,
  H: number,
  future: boolean,
  win: { context: Int16Array; tokens: Int32Array; future: Int32Array },
  targets: Int16Array | null,
): void {
  const LK = L * K;
  const Q = 1 + TOKEN_HISTORY;
  for (let c = 0, q = r; c < C; c++, q = x.prev[q]) win.context.set(x.experts.subarray(q * LK, (q + 1) * LK), c * LK);
  if (x.tokens.length) win.tokens.set(x.tokens.subarray(r * Q, (r + 1) * Q));
  for (let h = 0, q = x.next[r]; h < H; h++, q = x.next[q]) {
    win.future[h] = future && x.tokens.length ? x.tokens[q * Q] : 0;
    targets?.set(x.experts.subarray(q * LK, (q + 1) * LK), h * LK);
  }
}

/** Whether row r has C-1 earlier and H later tokens in its sequence (a window of the next-tokens task). */
export function hasTokensWindow(x: TokenInputs, r: number, C: number, H: number): boolean {
  return rowFrom(x, r, -(C - 1)) >= 0 && rowFrom(x, r, H) >= 0;
}
