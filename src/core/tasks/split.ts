/**
 * The train/test split of a run, the one the page (src/workers/trace.worker.ts) and the CLI (`eval`, `cache`)
 * both use: the dataset filter, the split by sequence (each part at least one sequence) and the window caps that
 * keep a very large trace from becoming hundreds of millions of windows.
 */
import { filterDatasets, resolveDatasets } from '../experiment/datasets';
import type { TraceSet } from '../trace/types';
import { checkTask, sampleSequences, splitBySequence, windowsPerToken, type SplitSummary, type TaskSpec } from './task';

/**
 * Training and scoring use at most this many windows of each part; a larger split is sampled by whole
 * sequences (seeded).
 */
export const MAX_TRAIN_WINDOWS = 1 << 21;
export const MAX_TEST_WINDOWS = 1 << 19;

export interface RunSplitRequest {
  /** Dataset names to keep (empty: all). */
  datasets: readonly string[];
  testFraction: number;
  seed: number;
  /** The task the parts are for: checked, and it sets how many windows a token makes. Absent: no window caps. */
  task?: TaskSpec;
}

export interface RunSplit {
  train: TraceSet;
  test: TraceSet;
  split: SplitSummary;
  /** Requested datasets the trace set does not have (ignored). */
  unknownDatasets: string[];
}

function sequencesAndTokens(set: TraceSet): { sequences: number; tokens: number } {
  let sequences = 0;
  let tokens = 0;
  let last: number | undefined;
  for (const c of set.chunks) {
    tokens += c.tokens;
    for (let t = 0; t < c.tokens; t++)
      if (c.seq[t] !== last) {
        sequences++;
        last = c.seq[t];
      }
  }
  return { sequences, tokens };
}

/**
 * Filters to the requested datasets, splits by sequence and samples each part down to the window caps
 * (views throughout; the whole split is never copied). The summary counts what the parts hold after sampling.
 */
export function splitForRun(set: TraceSet, req: RunSplitRequest, caps = { train: MAX_TRAIN_WINDOWS, test: MAX_TEST_WINDOWS }): RunSplit {
  const sel = resolveDatasets(set.manifest.datasets, req.datasets);
  if (sel.indices?.length === 0) throw new Error(`none of the datasets ${req.datasets.join(', ')} is in this trace set`);
  if (req.task) checkTask(set.manifest.numLayers, req.task);
  const whole = splitBySequence(filterDatasets(set, sel.indices), req.testFraction, req.seed);
  const perToken = req.task ? Math.max(1, windowsPerToken(set.manifest.numLayers, req.task)) : 0;
  const train = req.task ? sampleSequences(whole.train, Math.ceil(caps.train / perToken), req.seed) : { set: whole.train, sampled: false };
  const test = req.task ? sampleSequences(whole.test, Math.ceil(caps.test / perToken), req.seed + 1) : { set: whole.test, sampled: false };
  const a = sequencesAndTokens(train.set);
  const b = sequencesAndTokens(test.set);
  const split: SplitSummary = { trainSequences: a.sequences, testSequences: b.sequences, trainTokens: a.tokens, testTokens: b.tokens };
  if (train.sampled || test.sampled) split.sampledFrom = { trainTokens: whole.split.trainTokens, testTokens: whole.split.testTokens };
  if (whole.split.moved) split.moved = whole.split.moved;
  return { train: train.set, test: test.set, split, unknownDatasets: sel.unknown };
}

/** One line saying what a split did, for people (the CLI prints it on stderr). */
export function describeSplit(s: SplitSummary, req: Pick<RunSplitRequest, 'testFraction' | 'seed'>): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  let line = `split by sequence (test fraction ${req.testFraction}, seed ${req.seed}): training ${n(s.trainSequences, 'sequence')} (${n(s.trainTokens, 'token')}), test ${n(s.testSequences, 'sequence')} (${n(s.testTokens, 'token')})`;
  if (s.moved) line += `; the draw left the ${s.moved.to === 'test' ? 'test' : 'training'} part empty, so sequence ${s.moved.sequence} was moved there`;
  if (s.sampledFrom)
    line += `; sampled by whole sequences from ${s.sampledFrom.trainTokens} training and ${s.sampledFrom.testTokens} test tokens (window caps)`;
  return line;
}
