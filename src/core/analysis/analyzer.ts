import type { TraceChunk, TraceShape } from '../trace/types';

/** Everything the per-layer analyses count, as raw counts (see `finish` for the derived statistics). */
export interface AnalysisCounts {
  shape: TraceShape;
  tokens: number;
  sequences: number;
  /** Consecutive token pairs (same sequence, positions p and p+1), the denominator of reuse. */
  consecutivePairs: number;
  /** [l*E + e]: selections of expert e at layer l, over all top-k ranks. */
  selections: Float64Array;
  /** [(l*E + e)*E + f]: tokens whose top-k at layer l holds both e and f (e ≠ f); symmetric. */
  coactivation: Float64Array;
  /** [(l*E + e)*E + f], l = 0..L-2: top-k pairs with e at layer l and f at layer l+1. */
  transitions: Float64Array;
  /** [l]: consecutive pairs whose first-choice experts at layer l are equal. */
  reuseFirst: Float64Array;
  /** [l]: consecutive pairs whose top-k sets at layer l share at least one expert. */
  reuseAny: Float64Array;
}

export interface AnalyzeOptions {
  /** Only tokens of these dataset indices; all when absent. */
  datasets?: ReadonlySet<number>;
}

/**
 * Streams chunks through every per-layer count in one pass over the expert ids.
 * Chunks must come in trace order: reuse looks at the previous token, also across chunk boundaries.
 */
export class TraceAnalyzer {
  readonly counts: AnalysisCounts;
  private prevSeq = NaN;
  private prevPos = NaN;
  /** The previous analysed token's experts (L*K), for reuse across chunk boundaries. */
  private readonly prev: Int16Array;
  private hasPrev = false;

  constructor(
    readonly shape: TraceShape,
    private readonly opts: AnalyzeOptions = {},
  ) {
    const { numLayers: L, numExperts: E, topK: K } = shape;
    this.prev = new Int16Array(L * K);
    this.counts = {
      shape,
      tokens: 0,
      sequences: 0,
      consecutivePairs: 0,
      selections: new Float64Array(L * E),
      coactivation: new Float64Array(L * E * E),
      transitions: new Float64Array(Math.max(0, L - 1) * E * E),
      reuseFirst: new Float64Array(L),
      reuseAny: new Float64Array(L),
    };
  }

  add(c: TraceChunk): void {
    const { numLayers: L, numExperts: E, topK: K } = this.shape;
    const ex = c.experts;
    const LK = L * K;
    const EE = E * E;
    const filter = this.opts.datasets;
    // Integer counters for this chunk (fast increments), folded into the Float64 totals at the end.
    // A chunk holds far fewer than 2^32 / K tokens, so they cannot overflow.
    const co = new Uint32Array(L * EE);
    const tr = new Uint32Array(Math.max(1, L - 1) * EE);
    // Only the last layer's selections are counted directly: the others are row sums of the transitions.
    const lastSel = new Uint32Array(E);
    const rFirst = new Uint32Array(L);
    const rAny = new Uint32Array(L);
    let tokens = 0;
    let sequences = 0;
    let pairs = 0;
    let prevArr: Int16Array = this.prev;
    let prevOff = 0;
    const lastBase = (L - 1) * K;
    for (let t = 0; t < c.tokens; t++) {
      if (filter && !filter.has(c.dataset[t])) continue;
      const base = t * LK;
      const s = c.seq[t];
      const p = c.pos[t];
      if (s !== this.prevSeq) sequences++;
      const consecutive = this.hasPrev && s === this.prevSeq && p === this.prevPos + 1;
      tokens++;
      if (K === 2) {
        // Top-2 (Mixtral and most routers) unrolled: the generic loops below cost about twice as much.
        let a = ex[base];
        let b = ex[base + 1];
        for (let l = 0, o = base, lEE = 0; l < L; l++, o += 2, lEE += EE) {
          co[a < b ? lEE + a * E + b : lEE + b * E + a]++;
          if (l + 1 < L) {
            const c0 = ex[o + 2];
            const c1 = ex[o + 3];
            const ra = lEE + a * E;
            const rb = lEE + b * E;
            tr[ra + c0]++;
            tr[ra + c1]++;
            tr[rb + c0]++;
            tr[rb + c1]++;
            a = c0;
            b = c1;
          }
        }
      } else for (let l = 0; l < L; l++) {
        const o = base + l * K;
        const lEE = l * EE;
        for (let j = 0; j < K; j++) {
          const e = ex[o + j];
          // Co-activation: upper triangle (e < f) only; mirrored when the counts are read.
          for (let q = j + 1; q < K; q++) {
            const f = ex[o + q];
            if (e < f) co[lEE + e * E + f]++;
            else co[lEE + f * E + e]++;
          }
          if (l + 1 < L) {
            const o2 = o + K;
            const trow = lEE + e * E;
            for (let q = 0; q < K; q++) tr[trow + ex[o2 + q]]++;
          }
        }
      }
      for (let j = 0; j < K; j++) lastSel[ex[base + lastBase + j]]++;
      if (consecutive) {
        pairs++;
        for (let l = 0; l < L; l++) {
          const o = base + l * K;
          const po = prevOff + l * K;
          if (prevArr[po] === ex[o]) rFirst[l]++;
          if (K === 2) {
            const e0 = ex[o];
            const e1 = ex[o + 1];
            const p0 = prevArr[po];
            const p1 = prevArr[po + 1];
            if (e0 === p0 || e0 === p1 || e1 === p0 || e1 === p1) rAny[l]++;
            continue;
          }
          search: for (let j = 0; j < K; j++) {
            const e = ex[o + j];
            for (let q = 0; q < K; q++)
              if (prevArr[po + q] === e) {
                rAny[l]++;
                break search;
              }
          }
        }
      }
      // The previous token is read in place; only the chunk's last one is copied (for the next chunk).
      prevArr = ex;
      prevOff = base;
      this.hasPrev = true;
      this.prevSeq = s;
      this.prevPos = p;
    }
    if (prevArr === ex) this.prev.set(ex.subarray(prevOff, prevOff + LK));
    this.fold(co, tr, lastSel, rFirst, rAny);
    this.counts.tokens += tokens;
    this.counts.sequences += sequences;
    this.counts.consecutivePairs += pairs;
  }

  private fold(co: Uint32Array, tr: Uint32Array, lastSel: Uint32Array, rFirst: Uint32Array, rAny: Uint32Array): void {
    const { numLayers: L, numExperts: E, topK: K } = this.shape;
    const { selections, coactivation, transitions, reuseFirst, reuseAny } = this.counts;
    const EE = E * E;
    for (let l = 0; l < L; l++) {
      for (let e = 0; e < E; e++)
        for (let f = e + 1; f < E; f++) {
          const v = co[l * EE + e * E + f];
          coactivation[l * EE + e * E + f] += v;
          coactivation[l * EE + f * E + e] += v;
        }
      reuseFirst[l] += rFirst[l];
      reuseAny[l] += rAny[l];
    }
    for (let i = 0; i < transitions.length; i++) transitions[i] += tr[i];
    // Each selection of e at layer l < L-1 pairs with the K experts of layer l+1: a row sum is K times it.
    for (let l = 0; l + 1 < L; l++)
      for (let e = 0; e < E; e++) {
        let sum = 0;
        for (let f = 0; f < E; f++) sum += tr[l * EE + e * E + f];
        selections[l * E + e] += sum / K;
      }
    for (let e = 0; e < E; e++) selections[(L - 1) * E + e] += lastSel[e];
  }
}

/** Shannon entropy in bits of a count vector. */
export function entropyBits(counts: ArrayLike<number>, offset = 0, length = counts.length): number {
  let total = 0;
  for (let i = 0; i < length; i++) total += counts[offset + i];
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < length; i++) {
    const c = counts[offset + i];
    if (c > 0) {
      const p = c / total;
      h -= p * Math.log2(p);
    }
  }
  return h;
}
