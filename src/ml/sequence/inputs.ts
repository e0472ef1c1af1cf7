/**
 * Per-token inputs of the sequence model: one entry per token (not per (token, layer) window), so a token's
 * windows share one copy of its routing and its token identity.
 *
 * Adjacency is by position: the previous token of row r is the row of the same sequence at position p-1. A
 * gap (a dropped token) starts a new history, as in `stats`' consecutive pairs.
 */
import { indexTokens } from '../../core/predictors/window';
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
  // Routing and adjacency as the window walk indexes them; identities of t, t-1, t-2 through the vocabulary.
  const { n, experts, prev, next } = indexTokens(set);
  const Q = 1 + TOKEN_HISTORY;
  const tokens = new Int32Array(vocabulary ? n * Q : 0);
  const chunkStart: number[] = [];
  let r = 0;
  for (const c of set.chunks) {
    chunkStart.push(r);
    for (let t = 0; t < c.tokens; t++, r++) {
      if (!vocabulary) continue;
      tokens[r * Q] = vocabulary.indexOf(c, t);
      for (let q = 1; q < Q; q++) {
        const p = q === 1 ? prev[r] : prev[r] >= 0 ? prev[prev[r]] : -1;
        tokens[r * Q + q] = p >= 0 ? tokens[p * Q] : 0;
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

/**
 * Fills a next-tokens window of row r (context tokens r..r-C+1, identities, the later tokens' identities when
 * `future`) and, when `targets` is given, the experts of tokens r+1..r+H. The row must have the full context and
 * horizon (src/core/predictors/window.ts `hasTokensWindow`).
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
