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
    const { selections, coactivation, transitions, reuseFirst, reuseAny } = this.counts;
    const ex = c.experts;
    const LK = L * K;
    const EE = E * E;
    const filter = this.opts.datasets;
    // Counts in local Int32-backed accumulators would be faster still, but Float64 keeps exact integers
    // up to 2^53 with no overflow checks on 10M-token sets.
    let tokens = 0;
    let sequences = 0;
    let pairs = 0;
    const prev = this.prev;
    for (let t = 0; t < c.tokens; t++) {
      if (filter && !filter.has(c.dataset[t])) continue;
      const base = t * LK;
      const s = c.seq[t];
      const p = c.pos[t];
      if (s !== this.prevSeq) sequences++;
      const consecutive = this.hasPrev && s === this.prevSeq && p === this.prevPos + 1;
      tokens++;
      for (let l = 0; l < L; l++) {
        const o = base + l * K;
        const lE = l * E;
        for (let j = 0; j < K; j++) {
          const e = ex[o + j];
          selections[lE + e]++;
          const row = (lE + e) * E;
          for (let q = j + 1; q < K; q++) {
            const f = ex[o + q];
            coactivation[row + f]++;
            coactivation[(lE + f) * E + e]++;
          }
          if (l + 1 < L) {
            const o2 = o + K;
            const trow = l * EE + e * E;
            for (let q = 0; q < K; q++) transitions[trow + ex[o2 + q]]++;
          }
        }
        if (consecutive) {
          const po = l * K;
          if (prev[po] === ex[o]) reuseFirst[l]++;
          let any = false;
          for (let j = 0; j < K && !any; j++) {
            const e = ex[o + j];
            for (let q = 0; q < K; q++)
              if (prev[po + q] === e) {
                any = true;
                break;
              }
          }
          if (any) reuseAny[l]++;
        }
      }
      if (consecutive) pairs++;
      prev.set(ex.subarray(base, base + LK));
      this.hasPrev = true;
      this.prevSeq = s;
      this.prevPos = p;
    }
    this.counts.tokens += tokens;
    this.counts.sequences += sequences;
    this.counts.consecutivePairs += pairs;
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
