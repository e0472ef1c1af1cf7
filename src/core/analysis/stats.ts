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
}

export function analyze(set: TraceSet, opts: AnalyzeOptions = {}): AnalysisCounts {
  const a = new TraceAnalyzer(
    { numLayers: set.manifest.numLayers, numExperts: set.manifest.numExperts, topK: set.manifest.topK },
    opts,
  );
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
  };
}

export function computeStats(set: TraceSet, opts: AnalyzeOptions = {}): TraceStats {
  return statsFromCounts(analyze(set, opts), set);
}
