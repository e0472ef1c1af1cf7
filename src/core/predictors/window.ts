/**
 * The windows of a task over a trace set, and what a predictor may see at each: the one place where a task's
 * visibility (src/core/tasks/task.ts) is enforced. Scoring (evaluate.ts) and the residual blend's validation
 * (src/ml/blend.ts) both walk the windows through `forEachWindow`, so every predictor is scored on the same
 * windows and sees the same context.
 *
 * What a predictor gets (PredictionContext): `token`, the current token's experts with every layer it may not see
 * set to -1; `prev`, the previous token of the sequence (fully routed); and `view`, any other token of the
 * sequence by offset, which answers null (routing) or -1 (identity) for what the task hides.
 */
import { taskKind, visibilityOf, windowLayers, type TaskSpec } from '../tasks/task';
import type { TraceSet } from '../trace/types';
import type { ContextView, PredictionContext } from './types';

/** A set indexed by token (chunks in order, then rows): experts, neighbours in the same sequence, identities. */
export interface TokenIndex {
  n: number;
  /** [n*L*K] experts (a copy: the set's chunks may be views). */
  experts: Int16Array;
  /** Row of the token at position p-1 / p+1 of the same sequence, or -1 (a sequence's edge or a gap). */
  prev: Int32Array;
  next: Int32Array;
  /** [n] token ids, or null when the trace records none. */
  tokenId: Int32Array | null;
}

export function indexTokens(set: TraceSet): TokenIndex {
  const { numLayers: L, topK: K } = set.manifest;
  const LK = L * K;
  const n = set.chunks.reduce((a, c) => a + c.tokens, 0);
  const experts = new Int16Array(n * LK);
  const prev = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const hasIds = set.chunks.length > 0 && set.chunks.every((c) => c.tokenId);
  const tokenId = hasIds ? new Int32Array(n) : null;
  let r = 0;
  let lastSeq = NaN;
  let lastPos = NaN;
  for (const c of set.chunks) {
    experts.set(c.experts.subarray(0, c.tokens * LK), r * LK);
    for (let t = 0; t < c.tokens; t++, r++) {
      if (c.seq[t] === lastSeq && c.pos[t] === lastPos + 1) {
        prev[r] = r - 1;
        next[r - 1] = r;
      }
      lastSeq = c.seq[t];
      lastPos = c.pos[t];
      if (tokenId) tokenId[r] = c.tokenId![t];
    }
  }
  return { n, experts, prev, next, tokenId };
}

/** Rows linked to their neighbours in the same sequence (a TokenIndex, or the sequence model's inputs). */
export type Neighbours = Pick<TokenIndex, 'prev' | 'next'>;

/** The row `offset` tokens from `row` in the same sequence (negative: earlier), or -1. */
export function rowAt(ix: Neighbours, row: number, offset: number): number {
  let r = row;
  for (let i = 0; i < offset && r >= 0; i++) r = ix.next[r];
  for (let i = 0; i > offset && r >= 0; i--) r = ix.prev[r];
  return r;
}

/** Whether `row` is a window of the next-tokens task: C-1 earlier and H later tokens in its sequence. */
export function hasTokensWindow(ix: Neighbours, row: number, context: number, horizon: number): boolean {
  return rowAt(ix, row, -(context - 1)) >= 0 && rowAt(ix, row, horizon) >= 0;
}

/** The view of one window: other tokens of the sequence, as far as the task lets a predictor see them. */
class WindowView implements ContextView {
  row = 0;
  layer = 0;
  constructor(
    private readonly ix: TokenIndex,
    private readonly L: number,
    private readonly K: number,
    private readonly prefill: boolean,
    private readonly layersTask: boolean,
  ) {}

  visibleLayers(offset: number): number {
    if (offset < 0) return this.L - 1;
    if (offset === 0) return this.layer;
    return this.prefill && this.layersTask ? this.layer : -1;
  }

  experts(offset: number, layer: number): Int16Array | null {
    if (!Number.isInteger(offset) || !Number.isInteger(layer) || layer < 0 || layer > this.visibleLayers(offset)) return null;
    const r = rowAt(this.ix, this.row, offset);
    if (r < 0) return null;
    const o = (r * this.L + layer) * this.K;
    return this.ix.experts.subarray(o, o + this.K);
  }

  tokenId(offset: number): number {
    if (!this.ix.tokenId || !Number.isInteger(offset) || (offset > 0 && !this.prefill)) return -1;
    const r = rowAt(this.ix, this.row, offset);
    return r < 0 ? -1 : this.ix.tokenId[r];
  }
}

/** Called for each (window, target): the true experts of the target are truth[truthOff .. truthOff+K). */
export type WindowVisitor = (ctx: PredictionContext, target: number, step: number, truth: Int16Array, truthOff: number) => void;

/**
 * Walks every window of `task` over `set` in order (rows, then last context layer, then horizon step, then, in the
 * tokens task, target layer). `step` is the 0-based horizon step (layer l+1+step, or token t+1+step). Returns the
 * number of windows: (token, last context layer) pairs in the layers task, tokens in the tokens task.
 */
export function forEachWindow(set: TraceSet, task: TaskSpec, visit: WindowVisitor, ix: TokenIndex = indexTokens(set)): number {
  const { numLayers: L, topK: K } = set.manifest;
  const LK = L * K;
  const H = task.horizon;
  const tokens = taskKind(task) === 'tokens';
  const view = new WindowView(ix, L, K, visibilityOf(task) === 'prefill', !tokens);
  const masked = new Int16Array(LK);
  const ctx: PredictionContext = { token: masked, prev: null, layer: 0, ahead: 0, row: 0, view };
  const { first, last } = windowLayers(L, task);
  const ex = ix.experts;
  let windows = 0;
  for (let r = 0; r < ix.n; r++) {
    ctx.row = view.row = r;
    ctx.prev = ix.prev[r] >= 0 ? ex.subarray(ix.prev[r] * LK, (ix.prev[r] + 1) * LK) : null;
    if (tokens) {
      // A window needs the full context (C-1 earlier tokens) and horizon (H later tokens) in the same sequence.
      if (!hasTokensWindow(ix, r, task.context, H)) continue;
      masked.set(ex.subarray(r * LK, (r + 1) * LK));
      ctx.layer = view.layer = L - 1;
      let target = r;
      for (let h = 1; h <= H; h++) {
        target = ix.next[target];
        ctx.ahead = h;
        for (let tau = 0; tau < L; tau++) visit(ctx, tau, h - 1, ex, (target * L + tau) * K);
      }
      windows++;
      continue;
    }
    ctx.ahead = 0;
    masked.fill(-1);
    masked.set(ex.subarray(r * LK, (r * L + first) * K), 0);
    for (let l = first; l <= last; l++) {
      masked.set(ex.subarray((r * L + l) * K, (r * L + l + 1) * K), l * K);
      ctx.layer = view.layer = l;
      for (let h = 1; h <= H; h++) visit(ctx, l + h, h - 1, ex, (r * L + l + h) * K);
      windows++;
    }
  }
  return windows;
}
