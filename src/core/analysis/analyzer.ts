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
  /** Count every statistic directly, even where the pair-code tables apply (to check one against the other). */
  directCounts?: boolean;
}

/**
 * Streams chunks through every per-layer count in one pass over the expert ids.
 * Chunks must come in trace order: reuse looks at the previous token, also across chunk boundaries.
 */
/** Top-2 traces with at most this many experts count joint (pair-code) histograms; see TraceAnalyzer. */
const PAIR_CODE_MAX_EXPERTS = 8;

export class TraceAnalyzer {
  private readonly totals: AnalysisCounts;
  /**
   * Top-2 with few experts: a token's two experts at a layer, as a set, are one of Q = E(E-1)/2 pair codes, and
   * one pass only counts small joint histograms: T[l][q][r] for the codes of layers l and l+1 of a token,
   * R[l][q][r][same] for the codes of consecutive tokens at layer l (same: equal first choices), and the last
   * layer's codes. Every statistic (selections, co-activation, transitions, reuse) is a weighted sum over these
   * tables (flushPairs), so the pass makes one or two increments per token and layer, into tables that stay in
   * the CPU cache, instead of six scattered ones.
   */
  private readonly pair: {
    T: Uint32Array;
    R: Uint32Array;
    last: Uint32Array;
    /** Ordered pair (e0*E + e1) → its set's code; first choice of an ordered pair; the codes' two experts. */
    code: Uint16Array;
    first: Uint16Array;
    codeA: Uint16Array;
    codeB: Uint16Array;
    /** The previous analysed token's ordered pair at each layer. */
    prevU: Uint16Array;
    pending: number;
  } | null;
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
    this.pair = K === 2 && E <= PAIR_CODE_MAX_EXPERTS && !opts.directCounts ? pairTables(L, E) : null;
    this.totals = {
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

  /** The counts of every chunk added so far. */
  get counts(): AnalysisCounts {
    this.flushPairs();
    return this.totals;
  }

  /**
   * Starts after a token analysed elsewhere: `row` (row `t` of `c`) counts as the previous token, so a pass
   * over a later part of a trace counts the reuse and sequences at its start exactly as one pass over the whole
   * would. Call before the first add().
   */
  seed(c: TraceChunk, t: number): void {
    const { numLayers: L, numExperts: E, topK: K } = this.shape;
    const LK = L * K;
    this.prev.set(c.experts.subarray(t * LK, (t + 1) * LK));
    if (this.pair) for (let l = 0; l < L; l++) this.pair.prevU[l] = c.experts[t * LK + l * 2] * E + c.experts[t * LK + l * 2 + 1];
    this.prevSeq = c.seq[t];
    this.prevPos = c.pos[t];
    this.hasPrev = true;
  }

  add(c: TraceChunk): void {
    if (this.pair) {
      this.addPairs(c);
      return;
    }
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
      } else
        for (let l = 0; l < L; l++) {
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
    this.totals.tokens += tokens;
    this.totals.sequences += sequences;
    this.totals.consecutivePairs += pairs;
  }

  /** The pass of the pair-code path (top-2, few experts): joint histograms only. */
  private addPairs(c: TraceChunk): void {
    const { numLayers: L, numExperts: E } = this.shape;
    const pr = this.pair!;
    const { T, R, last, code, first, prevU } = pr;
    const Q = (E * (E - 1)) / 2;
    const QQ = Q * Q;
    const ex = c.experts;
    const L2 = L * 2;
    const filter = this.opts.datasets;
    let tokens = 0;
    let sequences = 0;
    let pairs = 0;
    let prevSeq = this.prevSeq;
    let prevPos = this.prevPos;
    let hasPrev = this.hasPrev;
    for (let t = 0; t < c.tokens; t++) {
      if (filter && !filter.has(c.dataset[t])) continue;
      const s = c.seq[t];
      const p = c.pos[t];
      if (s !== prevSeq) sequences++;
      tokens++;
      let o = t * L2;
      let e0 = ex[o];
      let u = e0 * E + ex[o + 1];
      let q = code[u];
      if (hasPrev && s === prevSeq && p === prevPos + 1) {
        pairs++;
        let pu = prevU[0];
        R[(code[pu] * Q + q) * 2 + (first[pu] === e0 ? 1 : 0)]++;
        prevU[0] = u;
        for (let l = 1, tl = 0, rl = QQ; l < L; l++, tl += QQ, rl += QQ) {
          o += 2;
          e0 = ex[o];
          u = e0 * E + ex[o + 1];
          const r = code[u];
          T[tl + q * Q + r]++;
          pu = prevU[l];
          R[(rl + code[pu] * Q + r) * 2 + (first[pu] === e0 ? 1 : 0)]++;
          prevU[l] = u;
          q = r;
        }
      } else {
        prevU[0] = u;
        for (let l = 1, tl = 0; l < L; l++, tl += QQ) {
          o += 2;
          u = ex[o] * E + ex[o + 1];
          const r = code[u];
          T[tl + q * Q + r]++;
          prevU[l] = u;
          q = r;
        }
      }
      last[q]++;
      hasPrev = true;
      prevSeq = s;
      prevPos = p;
    }
    this.prevSeq = prevSeq;
    this.prevPos = prevPos;
    this.hasPrev = hasPrev;
    this.totals.tokens += tokens;
    this.totals.sequences += sequences;
    this.totals.consecutivePairs += pairs;
    // Uint32 cells cannot overflow while fewer than 2^32 tokens are pending.
    pr.pending += tokens;
    if (pr.pending > 2 ** 31) this.flushPairs();
  }

  /** Adds the pair-code histograms into the totals and clears them. */
  private flushPairs(): void {
    const pr = this.pair;
    if (!pr || pr.pending === 0) return;
    const { numLayers: L, numExperts: E } = this.shape;
    const { selections, coactivation, transitions, reuseFirst, reuseAny } = this.totals;
    const { T, R, last, codeA, codeB } = pr;
    const Q = (E * (E - 1)) / 2;
    const QQ = Q * Q;
    const EE = E * E;
    const marginal = (l: number, q: number, n: number) => {
      const a = codeA[q];
      const b = codeB[q];
      selections[l * E + a] += n;
      selections[l * E + b] += n;
      coactivation[l * EE + a * E + b] += n;
      coactivation[l * EE + b * E + a] += n;
    };
    for (let l = 0; l + 1 < L; l++)
      for (let q = 0; q < Q; q++) {
        const ra = l * EE + codeA[q] * E;
        const rb = l * EE + codeB[q] * E;
        let row = 0;
        for (let r = 0; r < Q; r++) {
          const n = T[l * QQ + q * Q + r];
          if (n === 0) continue;
          const c = codeA[r];
          const d = codeB[r];
          transitions[ra + c] += n;
          transitions[ra + d] += n;
          transitions[rb + c] += n;
          transitions[rb + d] += n;
          row += n;
        }
        if (row) marginal(l, q, row);
      }
    for (let q = 0; q < Q; q++) if (last[q]) marginal(L - 1, q, last[q]);
    for (let l = 0; l < L; l++)
      for (let q = 0; q < Q; q++)
        for (let r = 0; r < Q; r++) {
          const i = (l * QQ + q * Q + r) * 2;
          const n = R[i] + R[i + 1];
          if (n === 0) continue;
          reuseFirst[l] += R[i + 1];
          const a = codeA[q];
          const b = codeB[q];
          if (a === codeA[r] || a === codeB[r] || b === codeA[r] || b === codeB[r]) reuseAny[l] += n;
        }
    T.fill(0);
    R.fill(0);
    last.fill(0);
    pr.pending = 0;
  }

  private fold(co: Uint32Array, tr: Uint32Array, lastSel: Uint32Array, rFirst: Uint32Array, rAny: Uint32Array): void {
    const { numLayers: L, numExperts: E, topK: K } = this.shape;
    const { selections, coactivation, transitions, reuseFirst, reuseAny } = this.totals;
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

/** The pair-code tables and lookups for L layers of E experts (top-2). */
function pairTables(L: number, E: number): NonNullable<TraceAnalyzer['pair']> {
  const Q = (E * (E - 1)) / 2;
  const code = new Uint16Array(E * E);
  const first = new Uint16Array(E * E);
  const codeA = new Uint16Array(Q);
  const codeB = new Uint16Array(Q);
  for (let a = 0, q = 0; a < E; a++)
    for (let b = a + 1; b < E; b++, q++) {
      codeA[q] = a;
      codeB[q] = b;
      code[a * E + b] = code[b * E + a] = q;
    }
  for (let u = 0; u < E * E; u++) first[u] = Math.floor(u / E);
  return {
    T: new Uint32Array(Math.max(0, L - 1) * Q * Q),
    R: new Uint32Array(L * Q * Q * 2),
    last: new Uint32Array(Q),
    code,
    first,
    codeA,
    codeB,
    prevU: new Uint16Array(L),
    pending: 0,
  };
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
