/** The trace worker's message protocol (comlink): what the page asks and what comes back. Types only. */
import type { TraceStats } from '../core/analysis/stats';
import type { TokenRequest, TokenWindow } from '../core/analysis/tokens';
import type { PredictorResult } from '../core/predictors/evaluate';
import type { LookaheadCurve } from '../core/predictors/lookahead';
import type { SplitSummary, TaskSpec } from '../core/tasks/task';
import type { Manifest, TraceSet } from '../core/trace/types';

export interface LoadProgress {
  /** What the worker is doing now, for people. */
  phase: 'reading' | 'decoding' | 'importing' | 'analysing';
  bytes: number;
  tokens: number;
  /**
   * How long the worker may now stay silent (decoding a large shard, importing raw logs), estimated from the
   * input's size; the page's stall budget stretches to it. Absent: the default budget.
   */
  quietMs?: number;
}

/** A file from disk with its path inside the picked or dropped folder ("set/manifest.json"), or just its name. */
export interface PickedFile {
  file: File;
  path: string;
}

/** A trace set opened from disk is a manifest.json with its shards; anything else goes through the importers. */
export type LoadRequest = { kind: 'url'; baseUrl: string } | { kind: 'files'; files: PickedFile[] };

export interface LoadedInfo {
  /** Names the input: the URL or the folder/file names. */
  label: string;
  manifest: Manifest;
  tokens: number;
  bytes: number;
  /** Time spent decoding and checking shards (fetching and checksums not included), when known. */
  decodeMs?: number;
  /** How the set came in ('shard': one shard without its manifest, shape inferred). */
  origin: 'url' | 'trace-set-files' | 'import' | 'shard';
  /** Shards served from IndexedDB / fetched; `cacheOff` says why no cache was used. */
  cache: { hits: number; misses: number; cacheOff: string | null };
  /** For imported raw logs: the format and what was read and dropped. */
  imported?: { format: string; files: number; records: number; droppedTokens: number };
  /** For a lone shard: how L, K and E were obtained. */
  inferred?: { numLayers: string; topK: string; numExperts: string };
  /** Files left out of a folder because they are not routing logs (e.g. README.md). */
  skipped: string[];
  /** Why each of `skipped` was left out (same order), where known. */
  skippedReasons?: string[];
}

export interface AnalysisResult {
  stats: TraceStats;
  /** Time the worker spent on the analysis, and on how many threads. */
  ms: number;
  threads: number;
  /** [(l*E + e)*E + f]: tokens with both e and f in the top-k of layer l. */
  coactivation: Float64Array;
  /** [(l*E + e)*E + f], l < L-1: selections of e at layer l followed by f at layer l+1. */
  transitions: Float64Array;
  /** Dataset filter names that the trace set does not have. */
  unknownDatasets: string[];
}

export interface SplitRequest {
  datasets: string[];
  task: TaskSpec;
  testFraction: number;
  seed: number;
}

/** What the run's split did (src/core/tasks/split.ts, shared with the CLI). */
export type { SplitSummary };

export interface BaselineResult {
  /** Per baseline name (random, frequency, markov, temporal, and lookahead where the trace has the gate). */
  results: Record<string, PredictorResult>;
  split: SplitSummary;
  /** The lookahead gate's recall at 1..H layers ahead (H: the trace's lookaheadHorizon), when it was scored. */
  lookaheadByDistance?: LookaheadCurve;
}

/** Routing of the train and test parts (token text, weights and logits left out), for the training worker. */
export interface SplitData {
  train: TraceSet;
  test: TraceSet;
  split: SplitSummary;
}

export interface TraceWorkerApi {
  load(req: LoadRequest, onProgress: (p: LoadProgress) => void): Promise<LoadedInfo>;
  analyze(datasets: string[]): Promise<AnalysisResult>;
  baselines(req: SplitRequest): Promise<BaselineResult>;
  splitData(req: SplitRequest): Promise<SplitData>;
  /** A window of tokens (text, ids, experts, weights) under a dataset filter: only the rows asked for. */
  tokens(req: TokenRequest): Promise<TokenWindow>;
}

export type { TokenRequest, TokenWindow };
