import type { PredictionContext, Predictor } from '../predictors/types';
import type { TraceSet } from '../trace/types';
import { topIndices } from './ranking';

/**
 * Expert-cache simulation: each MoE layer keeps at most C experts resident (on the GPU); the rest are loaded on
 * demand (a miss) from host memory. Tokens are replayed in trace order, one layer after another, as in decoding.
 */
export type CachePolicy = 'lru' | 'lfu' | 'prefetch';

export interface CacheOptions {
  /** Experts resident per layer. */
  capacity: number;
  policy: CachePolicy;
  /** For 'prefetch': the fitted predictor that names the experts to load ahead. */
  predictor?: Predictor;
  /** For 'prefetch': how many experts to prefetch per layer (default top-k). */
  prefetchCount?: number;
  /** For 'prefetch': predict layer l from the token's layers up to l - lookahead (default 1). */
  lookahead?: number;
  /** Empty the caches at each new sequence (a fresh request); default false (a serving process keeps them). */
  resetPerSequence?: boolean;
  // A gap in a sequence's positions (tokens dropped from the log) always empties the caches: the dropped tokens
  // ran and changed what was resident, so the state before the gap says nothing about the token after it, and
  // the prefetching predictor sees no previous token there (as `stats` counts no consecutive pair across it).
}

export interface CacheResult {
  policy: CachePolicy;
  capacity: number;
  /** Demand accesses (token × layer × k) and how many found their expert resident. */
  accesses: number;
  hits: number;
  hitRate: number;
  /** Per layer hit rate. */
  layerHitRate: number[];
  /** Experts loaded ahead of need, and of those how many were used by the token they were loaded for. */
  prefetches: number;
  usefulPrefetches: number;
  tokens: number;
}

/**
 * One layer's resident set with LRU or LFU eviction. Small C (tens of experts) makes linear scans the fastest
 * structure; `stamp` is the last-use time, `freq` the use count since the simulation started.
 */
class LayerCache {
  readonly slots: Int32Array;
  private readonly stamp: Float64Array;
  private size = 0;
  constructor(
    readonly capacity: number,
    private readonly lfu: boolean,
    private readonly freq: Float64Array,
  ) {
    this.slots = new Int32Array(capacity);
    this.stamp = new Float64Array(capacity);
  }
  clear(): void {
    this.size = 0;
  }
  indexOf(e: number): number {
    for (let i = 0; i < this.size; i++) if (this.slots[i] === e) return i;
    return -1;
  }
  touch(i: number, now: number): void {
    this.stamp[i] = now;
  }
  /** Inserts e (not resident), evicting the policy's victim among slots not in `pinned`. Returns false if all pinned. */
  insert(e: number, now: number, pinned?: (expert: number) => boolean): boolean {
    if (this.size < this.capacity) {
      this.slots[this.size] = e;
      this.stamp[this.size++] = now;
      return true;
    }
    let victim = -1;
    for (let i = 0; i < this.size; i++) {
      if (pinned?.(this.slots[i])) continue;
      if (victim < 0) {
        victim = i;
        continue;
      }
      const a = this.slots[i];
      const b = this.slots[victim];
      // LFU: fewest uses, then least recent. LRU: least recent. Remaining ties (experts used by the same
      // token and layer) go to the lower expert id, so results do not depend on slot order.
      const fa = this.lfu ? this.freq[a] : 0;
      const fb = this.lfu ? this.freq[b] : 0;
      const better = fa < fb || (fa === fb && (this.stamp[i] < this.stamp[victim] || (this.stamp[i] === this.stamp[victim] && a < b)));
      if (better) victim = i;
    }
    if (victim < 0) return false;
    this.slots[victim] = e;
    this.stamp[victim] = now;
    return true;
  }
}

export function simulateCache(set: TraceSet, o: CacheOptions): CacheResult {
  const { numLayers: L, numExperts: E, topK: K } = set.manifest;
  if (!Number.isInteger(o.capacity) || o.capacity < 1 || o.capacity > E) throw new Error(`cache capacity must be an integer in 1..${E} (got ${o.capacity})`);
  if (o.policy === 'prefetch' && !o.predictor) throw new Error('the prefetch policy needs a fitted predictor');
  const lookahead = o.lookahead ?? 1;
  const prefetchCount = Math.min(o.prefetchCount ?? K, o.capacity);
  const freq = new Float64Array(L * E);
  const caches = Array.from({ length: L }, (_, l) => new LayerCache(o.capacity, o.policy === 'lfu', freq.subarray(l * E, (l + 1) * E)));
  const layerHits = new Float64Array(L);
  const layerAccesses = new Float64Array(L);
  const scores = new Float64Array(E);
  const ranked = new Int32Array(prefetchCount);
  const prefetched = new Uint8Array(E);
  const LK = L * K;
  const prevBuf = new Int16Array(LK);
  const masked = new Int16Array(LK);
  const ctx: PredictionContext = { token: new Int16Array(0), prev: null, layer: 0, ahead: 0 };
  let havePrev = false;
  let prevSeq = NaN;
  let prevPos = NaN;
  let now = 0;
  let prefetches = 0;
  let useful = 0;
  let tokens = 0;
  for (const c of set.chunks)
    for (let t = 0; t < c.tokens; t++) {
      const token = c.experts.subarray(t * LK, (t + 1) * LK);
      const newSeq = !havePrev || c.seq[t] !== prevSeq;
      const gap = !newSeq && c.pos[t] !== prevPos + 1;
      if ((newSeq && o.resetPerSequence) || gap) for (const cache of caches) cache.clear();
      // The predictor sees the token's layers up to the one it predicts from (the rest stay -1).
      masked.fill(-1);
      ctx.token = masked;
      ctx.prev = newSeq || gap ? null : prevBuf;
      for (let l = 0; l < L; l++) {
        const cache = caches[l];
        const base = l * K;
        prefetched.fill(0);
        if (o.policy === 'prefetch' && l - lookahead >= 0) {
          // Predicted from layers the token has already passed, so the loads overlap earlier layers' compute.
          ctx.layer = l - lookahead;
          masked.set(token.subarray(ctx.layer * K, (ctx.layer + 1) * K), ctx.layer * K);
          o.predictor!.score(ctx, l, scores);
          topIndices(scores, prefetchCount, ranked);
          // Predicted experts already resident are kept too (marked 3: not a load, but not to be evicted).
          for (let i = 0; i < prefetchCount; i++) if (cache.indexOf(ranked[i]) >= 0) prefetched[ranked[i]] = 3;
          for (let i = 0; i < prefetchCount; i++) {
            const e = ranked[i];
            if (prefetched[e]) continue;
            if (cache.insert(e, now, (x) => prefetched[x] !== 0)) {
              prefetched[e] = 1;
              prefetches++;
            }
          }
          now++;
        }
        for (let j = 0; j < K; j++) {
          const e = token[base + j];
          freq[l * E + e]++;
          layerAccesses[l]++;
          const at = cache.indexOf(e);
          if (at >= 0) {
            layerHits[l]++;
            if (prefetched[e] === 1) {
              useful++;
              prefetched[e] = 2; // counted once
            }
            cache.touch(at, now);
          } else {
            // A demand load may not evict an expert this token still needs at this layer.
            cache.insert(e, now, (x) => {
              for (let q = 0; q < K; q++) if (token[base + q] === x) return true;
              return false;
            });
          }
        }
        now++;
      }
      prevBuf.set(token);
      havePrev = true;
      prevSeq = c.seq[t];
      prevPos = c.pos[t];
      tokens++;
    }
  let hits = 0;
  let accesses = 0;
  for (let l = 0; l < L; l++) {
    hits += layerHits[l];
    accesses += layerAccesses[l];
  }
  return {
    policy: o.policy,
    capacity: o.capacity,
    accesses,
    hits,
    hitRate: accesses ? hits / accesses : 0,
    layerHitRate: Array.from(layerHits, (h, l) => (layerAccesses[l] ? h / layerAccesses[l] : 0)),
    prefetches,
    usefulPrefetches: useful,
    tokens,
  };
}
