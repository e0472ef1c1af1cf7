import { describe, expect, it } from 'vitest';
import { BASELINES } from '../predictors/baselines';
import { readReal, listReal } from '../trace/importers/test-helpers';
import { importHookCsv, importJsonl, naturalCompare } from '../trace/importers';
import { syntheticTrace } from '../trace/synthetic';
import type { TraceSet } from '../trace/types';
import { simulateCache, type CachePolicy } from './cache';
import { mixtralVariant } from '../predictors/testTraces';
import { gatherRows } from '../tasks/task';
import { CoverageCurve } from './confidence';
import { estimateOffload, expertBytes, MIXTRAL_3090 } from './offload';

/** One layer, top-1, 4 experts, one sequence with the given expert per token. */
function oneLayer(route: number[]): TraceSet {
  const set = syntheticTrace({ tokens: route.length, numLayers: 1, numExperts: 4, topK: 1, withWeights: false, seqLen: 1000 });
  set.chunks[0].experts = Int16Array.from(route);
  return set;
}

/** A straightforward reference: per layer an array ordered by recency (LRU) or scanned for min count (LFU). */
function referenceHits(set: TraceSet, capacity: number, policy: 'lru' | 'lfu'): number {
  const { numLayers: L, numExperts: E, topK: K } = set.manifest;
  const resident: number[][] = Array.from({ length: L }, () => []);
  const lastUse: Map<number, number>[] = Array.from({ length: L }, () => new Map());
  const uses: number[][] = Array.from({ length: L }, () => new Array(E).fill(0));
  let hits = 0;
  let clock = 0;
  for (const c of set.chunks)
    for (let t = 0; t < c.tokens; t++)
      for (let l = 0; l < L; l++) {
        const need = Array.from(c.experts.subarray((t * L + l) * K, (t * L + l + 1) * K));
        for (const e of need) {
          uses[l][e]++;
          if (resident[l].includes(e)) hits++;
          else {
            if (resident[l].length >= capacity) {
              const candidates = resident[l].filter((x) => !need.includes(x));
              if (candidates.length === 0) continue;
              const key = (x: number) => [policy === 'lfu' ? uses[l][x] : 0, lastUse[l].get(x)!, x];
              candidates.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1] || key(a)[2] - key(b)[2]);
              resident[l].splice(resident[l].indexOf(candidates[0]), 1);
            }
            resident[l].push(e);
          }
          lastUse[l].set(e, clock);
        }
        clock++;
      }
  return hits;
}

describe('expert cache simulator', () => {
  it('matches a hand-computed LRU and LFU example', () => {
    // Capacity 2. Accesses: 0 1 0 2 1 0 3 0
    const set = oneLayer([0, 1, 0, 2, 1, 0, 3, 0]);
    // LRU: 0m 1m 0h 2m(evict 1) 1m(evict 0) 0m(evict 2) 3m(evict 1) 0h -> 2 hits
    expect(simulateCache(set, { capacity: 2, policy: 'lru' }).hits).toBe(2);
    // LFU: 0m 1m 0h(0:2) 2m(evict 1: fewer uses) 1m(evict 2, 1 use vs 0's 2) 0h 3m(evict 1) 0h -> 3 hits
    expect(simulateCache(set, { capacity: 2, policy: 'lfu' }).hits).toBe(3);
  });

  it('prefetch with a perfect predictor hits every access after the first layer; the predictor cannot see the layer it predicts', () => {
    const set = syntheticTrace({ tokens: 200, numLayers: 4, numExperts: 8, topK: 2, seed: 2 });
    const ex = set.chunks[0].experts;
    // The oracle knows the truth from outside (the set, in call order: layers 1..3 of each token in turn).
    let calls = 0;
    let hidden = 0;
    const oracle = {
      name: 'oracle',
      kind: 'baseline' as const,
      fit() {},
      score(ctx: { token: Int16Array; layer: number }, target: number, out: Float64Array) {
        const t = Math.floor(calls++ / 3);
        if (ctx.token[target * 2] === -1 && ctx.token[ctx.layer * 2] === ex[(t * 4 + ctx.layer) * 2]) hidden++;
        out.fill(0);
        out[ex[(t * 4 + target) * 2]] = 2;
        out[ex[(t * 4 + target) * 2 + 1]] = 1;
      },
    };
    const r = simulateCache(set, { capacity: 2, policy: 'prefetch', predictor: oracle });
    // Layers 1..3 always hit; layer 0 (nothing to predict from) behaves as LRU.
    expect(r.layerHitRate.slice(1)).toEqual([1, 1, 1]);
    expect(r.usefulPrefetches).toBeLessThanOrEqual(r.prefetches);
    // Every call saw its context layer and not its target.
    expect(hidden).toBe(200 * 3);
  });

  it('LRU and LFU agree with a reference implementation on the real traces', () => {
    const mixtral = importJsonl([{ name: 'r.jsonl', text: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set;
    const dir = 'deepseek-v2-lite-chat/puffin-1-100';
    const files = listReal(dir).sort(naturalCompare).slice(0, 10);
    const deepseek = importHookCsv(files.map((f) => ({ name: f, text: readReal(`${dir}/${f}`) }))).set;
    for (const [set, caps] of [
      [mixtral, [2, 4, 6]],
      [deepseek, [6, 16, 32]],
    ] as const)
      for (const capacity of caps)
        for (const policy of ['lru', 'lfu'] as CachePolicy[]) {
          const r = simulateCache(set, { capacity, policy });
          expect(r.hits, `${set.manifest.numExperts} experts, C=${capacity}, ${policy}`).toBe(referenceHits(set, capacity, policy as 'lru' | 'lfu'));
        }
  });

  it('a larger cache never hits less, and prefetching from markov beats plain LRU on Mixtral', () => {
    const set = importJsonl([{ name: 'r.jsonl', text: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set;
    const rates = [2, 3, 4, 5, 6, 7, 8].map((capacity) => simulateCache(set, { capacity, policy: 'lru' }).hitRate);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThanOrEqual(rates[i - 1]);
    // All 8 experts fit: the only misses are each layer's first use of each expert.
    let cold = 0;
    for (let l = 0; l < 32; l++)
      cold += new Set(Array.from({ length: 244 * 2 }, (_, i) => set.chunks[0].experts[(Math.floor(i / 2) * 32 + l) * 2 + (i % 2)])).size;
    expect(rates[rates.length - 1]).toBeCloseTo(1 - cold / (244 * 32 * 2), 12);
    const markov = BASELINES.markov(set.manifest, 0);
    markov.fit(set, { context: 1, horizon: 1 });
    const pre = simulateCache(set, { capacity: 4, policy: 'prefetch', predictor: markov });
    const lru = simulateCache(set, { capacity: 4, policy: 'lru' });
    expect(pre.hitRate).toBeGreaterThan(lru.hitRate);
  });

  it('rejects an impossible capacity', () => {
    expect(() => simulateCache(oneLayer([0]), { capacity: 5, policy: 'lru' })).toThrow(/capacity must be an integer in 1\.\.4/);
  });
});

describe('offload model', () => {
  it('computes Mixtral expert size and speed by hand', () => {
    expect(expertBytes({ hidden: 4096, ffn: 14336, matricesPerExpert: 3, bitsPerWeight: 16 })).toBe(3 * 4096 * 14336 * 2);
    const e = estimateOffload(MIXTRAL_3090, 0.75);
    const bytes = 3 * 4096 * 14336; // 8-bit
    const loadMs = (bytes / 25e9) * 1000;
    expect(e.loadMs).toBeCloseTo(loadMs, 12);
    expect(e.demandMissesPerToken).toBeCloseTo(0.25 * 64, 12);
    expect(e.msPerToken).toBeCloseTo(32 * 0.45 + 16 * loadMs, 9);
    expect(estimateOffload(MIXTRAL_3090, 1).tokensPerSecond).toBeCloseTo(1000 / 14.4, 9);
    // Prefetch traffic beyond the compute time it hides behind stalls too.
    expect(estimateOffload(MIXTRAL_3090, 1, 10).msPerToken).toBeCloseTo(10 * loadMs, 9);
    expect(() => estimateOffload(MIXTRAL_3090, 1.5)).toThrow(/hit rate/);
  });
});

describe('coverage curve', () => {
  it('gives coverage and precision per threshold', () => {
    const c = new CoverageCurve();
    c.add(0.9, 1);
    c.add(0.5, 0.5);
    c.add(0.1, 0);
    const p = c.points();
    expect(p[0]).toEqual({ threshold: 0, coverage: 1, precision: 0.5 });
    expect(p[10]).toEqual({ threshold: 0.5, coverage: 2 / 3, precision: 0.75 });
    expect(p[18]).toEqual({ threshold: 0.9, coverage: 1 / 3, precision: 1 });
    expect(p[20].coverage).toBe(0);
  });
});

describe('a gap in token positions empties the cache (issue 17)', () => {
  /** The runs of consecutive positions of a set, each as a set of its own. */
  const runs = (set: TraceSet): TraceSet[] => {
    const { numLayers: L, numExperts: E, topK: K } = set.manifest;
    const out: TraceSet[] = [];
    for (const c of set.chunks) {
      let start = 0;
      for (let t = 1; t <= c.tokens; t++)
        if (t === c.tokens || c.seq[t] !== c.seq[t - 1] || c.pos[t] !== c.pos[t - 1] + 1) {
          out.push({
            manifest: set.manifest,
            chunks: [
              gatherRows(
                c,
                Array.from({ length: t - start }, (_, i) => start + i),
                L * K,
                L * E,
              ),
            ],
          });
          start = t;
        }
    }
    return out;
  };

  it('tokens dropped inside a sequence: LRU equals the reference replaying each run of consecutive tokens from empty', () => {
    const set = mixtralVariant({ drop: [50, 51, 120] });
    const parts = runs(set);
    expect(parts).toHaveLength(4); // 2 sequences, 2 gaps (a new sequence keeps the caches; a gap does not)
    for (const capacity of [2, 4, 6]) {
      const r = simulateCache(set, { capacity, policy: 'lru', resetPerSequence: true });
      expect(r.hits, `C=${capacity}`).toBe(parts.reduce((n, p) => n + referenceHits(p, capacity, 'lru'), 0));
    }
  });

  it('positions 0, 10, 20, ...: every token starts from an empty cache, so LRU and LFU never hit', () => {
    const spread = mixtralVariant({ spread: true });
    for (const policy of ['lru', 'lfu'] as const) {
      expect(simulateCache(spread, { capacity: 4, policy, resetPerSequence: true }).hits).toBe(0);
      // Without a reset per sequence, only the first token of the second sequence finds experts resident.
      expect(simulateCache(spread, { capacity: 4, policy }).hits).toBeLessThanOrEqual(32 * 2);
      expect(simulateCache(mixtralVariant(), { capacity: 4, policy }).hitRate).toBeGreaterThan(0.3);
    }
  });
});
