import { createRng } from '../experiment/rng';
import { sliceChunk } from '../trace/chunk';
import type { TraceChunk, TraceSet, TraceShape } from '../trace/types';

/** Next-layer speculation: from the experts of layers l-C+1..l, predict the top-k sets at l+1..l+H. */
export interface TaskSpec {
  context: number;
  horizon: number;
}

export const DEFAULT_TASK: TaskSpec = { context: 3, horizon: 2 };

/** The last-context layers l that have C context layers and H target layers inside the model. */
export function windowLayers(numLayers: number, task: TaskSpec): { first: number; last: number } {
  return { first: task.context - 1, last: numLayers - 1 - task.horizon };
}

export function checkTask(numLayers: number, task: TaskSpec): void {
  if (!Number.isInteger(task.context) || task.context < 1) throw new Error(`context must be an integer ≥ 1 (got ${task.context})`);
  if (!Number.isInteger(task.horizon) || task.horizon < 1) throw new Error(`horizon must be an integer ≥ 1 (got ${task.horizon})`);
  const { first, last } = windowLayers(numLayers, task);
  if (first > last)
    throw new Error(`context ${task.context} + horizon ${task.horizon} need more than the trace's ${numLayers} MoE layers`);
}

/** Gathers the given rows of a chunk into a new chunk (copies). Also used by the dataset filter. */
export function gatherRows(c: TraceChunk, rows: number[], LK: number, LE: number): TraceChunk {
  const n = rows.length;
  const out: TraceChunk = {
    tokens: n,
    seq: new Int32Array(n),
    pos: new Int32Array(n),
    dataset: new Uint16Array(n),
    experts: new Int16Array(n * LK),
    ...(c.weights && { weights: new Float32Array(n * LK) }),
    ...(c.logits && { logits: new Float32Array(n * LE) }),
    ...(c.tokenId && { tokenId: new Int32Array(n) }),
    ...(c.tokenText && { tokenText: new Array<string>(n) }),
  };
  rows.forEach((r, i) => {
    out.seq[i] = c.seq[r];
    out.pos[i] = c.pos[r];
    out.dataset[i] = c.dataset[r];
    out.experts.set(c.experts.subarray(r * LK, (r + 1) * LK), i * LK);
    out.weights?.set(c.weights!.subarray(r * LK, (r + 1) * LK), i * LK);
    out.logits?.set(c.logits!.subarray(r * LE, (r + 1) * LE), i * LE);
    if (out.tokenId) out.tokenId[i] = c.tokenId![r];
    if (out.tokenText) out.tokenText[i] = c.tokenText![r];
  });
  return out;
}

/**
 * The rows of a chunk that `keep` accepts, as views of its runs of consecutive kept rows (no copy: a part of a
 * large trace costs a few objects, not a second copy of its arrays). Appends to `out`.
 */
export function keptRuns(c: TraceChunk, shape: TraceShape, keep: (t: number) => boolean, out: TraceChunk[]): void {
  let start = -1;
  for (let t = 0; t <= c.tokens; t++) {
    const k = t < c.tokens && keep(t);
    if (k && start < 0) start = t;
    else if (!k && start >= 0) {
      out.push(start === 0 && t === c.tokens ? c : sliceChunk(c, shape, start, t));
      start = -1;
    }
  }
}

/**
 * Splits a trace set by sequence (never by token, so no sequence leaks between train and test).
 * Each sequence goes to test with probability `testFraction`, drawn from a seeded stream in sequence order.
 * The parts are views of the set's arrays.
 */
export function splitBySequence(set: TraceSet, testFraction: number, seed: number): { train: TraceSet; test: TraceSet } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`test fraction must be between 0 and 1 (got ${testFraction})`);
  const rnd = createRng(seed);
  const train: TraceChunk[] = [];
  const test: TraceChunk[] = [];
  let lastSeq: number | undefined;
  let inTest = false;
  for (const c of set.chunks) {
    const side = new Uint8Array(c.tokens);
    for (let t = 0; t < c.tokens; t++) {
      if (c.seq[t] !== lastSeq) {
        lastSeq = c.seq[t];
        inTest = rnd() < testFraction;
      }
      side[t] = inTest ? 1 : 0;
    }
    keptRuns(c, set.manifest, (t) => side[t] === 0, train);
    keptRuns(c, set.manifest, (t) => side[t] === 1, test);
  }
  if (!train.length || !test.length) throw new Error(`splitting ${set.chunks.length ? 'this trace' : 'an empty trace'} by sequence left the ${train.length ? 'test' : 'training'} part empty`);
  return { train: { manifest: set.manifest, chunks: train }, test: { manifest: set.manifest, chunks: test } };
}

/** Windows (token, last context layer) per token for a task on L layers. */
export function windowsPerToken(numLayers: number, task: TaskSpec): number {
  const { first, last } = windowLayers(numLayers, task);
  return Math.max(0, last - first + 1);
}

/**
 * At most about `maxTokens` tokens of a set, as whole sequences: each sequence is kept with probability
 * maxTokens / tokens, drawn from a seeded stream in sequence order (views, no copy). A set within the budget is
 * returned as it is. For training and scoring on traces too large to turn into windows whole.
 */
export function sampleSequences(set: TraceSet, maxTokens: number, seed: number): { set: TraceSet; sampled: boolean } {
  const total = set.chunks.reduce((n, c) => n + c.tokens, 0);
  if (total <= maxTokens) return { set, sampled: false };
  const p = maxTokens / total;
  const rnd = createRng(seed ^ 0x5a3c9e1);
  const chunks: TraceChunk[] = [];
  let lastSeq: number | undefined;
  let keep = false;
  let any = false;
  for (const c of set.chunks) {
    const kept = new Uint8Array(c.tokens);
    for (let t = 0; t < c.tokens; t++) {
      if (c.seq[t] !== lastSeq) {
        lastSeq = c.seq[t];
        keep = rnd() < p;
      }
      kept[t] = keep ? 1 : 0;
      any ||= keep;
    }
    keptRuns(c, set.manifest, (t) => kept[t] === 1, chunks);
  }
  // A budget smaller than one sequence still keeps one (the first).
  if (!any) keptRuns(set.chunks[0], set.manifest, (t) => set.chunks[0].seq[t] === set.chunks[0].seq[0], chunks);
  return { set: { manifest: set.manifest, chunks }, sampled: true };
}
