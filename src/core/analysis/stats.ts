import type { TraceSet } from '../trace/types';
import { TraceAnalyzer, entropyBits, type AnalysisCounts, type AnalyzeOptions } from './analyzer';

/** The per-layer summary statistics of a trace set (the `stats` CLI's JSON). */
export interface TraceStats {
  tokens: number;
  droppedTokens: number;
  sequences: number;
  layers: number;
  experts: number;
  topK: number;
  moeLayerIds: number[];
  datasets: string[];
  consecutivePairs: number;
  /** [layer]: entropy of the expert-selection distribution (all top-k ranks), bits. */
  entropyBits: number[];
  /** log2(experts): the entropy of perfectly uniform use. */
  maxEntropyBits: number;
  /** [layer][expert]: share of the layer's top-k selections. */
  utilisation: number[][];
  /** [layer]: share of consecutive token pairs with the same first-choice expert. */
  reuseFirst: number[];
  /** [layer]: share of consecutive token pairs whose top-k sets overlap. */
  reuseAny: number[];
  /** Per layer, how evenly the layer's top-k selections (its expert load) spread over the experts. */
  loadBalance: LoadBalance;
}

/** Expert-load balance per layer ([layer] arrays), from the counts of top-k selections per expert. */
export interface LoadBalance {
  /** Share of the layer's selections that go to its busiest expert (1/E when perfectly even). */
  maxShare: number[];
  /** Share of the experts selected at least once. */
  activeFraction: number[];
  /** Coefficient of variation of the per-expert load: population standard deviation / mean (0 when even). */
  cv: number[];
  /** Entropy of the load over log2(E): 1 when even, 0 when one expert takes everything. */
  normalizedEntropy: number[];
}

/** Load-balance figures of per-expert selection counts `sel[l*E + e]`. */
export function loadBalance(sel: ArrayLike<number>, L: number, E: number): LoadBalance {
  const out: LoadBalance = { maxShare: [], activeFraction: [], cv: [], normalizedEntropy: [] };
  for (let l = 0; l < L; l++) {
    let total = 0;
    let max = 0;
    let active = 0;
    for (let e = 0; e < E; e++) {
      const c = sel[l * E + e];
      total += c;
      if (c > max) max = c;
      if (c > 0) active++;
    }
    const mean = total / E;
    let sq = 0;
    for (let e = 0; e < E; e++) sq += (sel[l * E + e] - mean) ** 2;
    out.maxShare.push(total ? max / total : 0);
    out.activeFraction.push(active / E);
    out.cv.push(total ? Math.sqrt(sq / E) / mean : 0);
    out.normalizedEntropy.push(E > 1 ? entropyBits(sel, l * E, E) / Math.log2(E) : 0);
  }
  return out;
}

export function analyze(set: TraceSet, opts: AnalyzeOptions = {}): AnalysisCounts {
  const a = new TraceAnalyzer({ numLayers: set.manifest.numLayers, numExperts: set.manifest.numExperts, topK: set.manifest.topK }, opts);
  for (const c of set.chunks) a.add(c);
  return a.counts;
}

export function statsFromCounts(counts: AnalysisCounts, set: TraceSet): TraceStats {
  const { numLayers: L, numExperts: E } = counts.shape;
  const m = set.manifest;
  const utilisation: number[][] = [];
  const entropy: number[] = [];
  for (let l = 0; l < L; l++) {
    let total = 0;
    for (let e = 0; e < E; e++) total += counts.selections[l * E + e];
    utilisation.push(Array.from({ length: E }, (_, e) => (total ? counts.selections[l * E + e] / total : 0)));
    entropy.push(entropyBits(counts.selections, l * E, E));
  }
  const pairs = counts.consecutivePairs;
  return {
    tokens: counts.tokens,
    droppedTokens: m.droppedTokens,
    sequences: counts.sequences,
    layers: L,
    experts: E,
    topK: counts.shape.topK,
    moeLayerIds: m.moeLayerIds,
    datasets: m.datasets,
    consecutivePairs: pairs,
    entropyBits: entropy,
    maxEntropyBits: Math.log2(E),
    utilisation,
    reuseFirst: Array.from(counts.reuseFirst, (v) => (pairs ? v / pairs : 0)),
    reuseAny: Array.from(counts.reuseAny, (v) => (pairs ? v / pairs : 0)),
    loadBalance: loadBalance(counts.selections, L, E),
  };
}

export function computeStats(set: TraceSet, opts: AnalyzeOptions = {}): TraceStats {
  return statsFromCounts(analyze(set, opts), set);
}
