import { createRng } from '../experiment/rng';
import type { TraceChunk, TraceSet } from '../trace/types';

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
 * Splits a trace set by sequence (never by token, so no sequence leaks between train and test).
 * Each sequence goes to test with probability `testFraction`, drawn from a seeded stream in sequence order.
 */
export function splitBySequence(set: TraceSet, testFraction: number, seed: number): { train: TraceSet; test: TraceSet } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`test fraction must be between 0 and 1 (got ${testFraction})`);
  const rnd = createRng(seed);
  const { numLayers: L, topK: K, numExperts: E } = set.manifest;
  const train: TraceChunk[] = [];
  const test: TraceChunk[] = [];
  let lastSeq: number | undefined;
  let inTest = false;
  for (const c of set.chunks) {
    const a: number[] = [];
    const b: number[] = [];
    for (let t = 0; t < c.tokens; t++) {
      if (c.seq[t] !== lastSeq) {
        lastSeq = c.seq[t];
        inTest = rnd() < testFraction;
      }
      (inTest ? b : a).push(t);
    }
    if (a.length) train.push(gatherRows(c, a, L * K, L * E));
    if (b.length) test.push(gatherRows(c, b, L * K, L * E));
  }
  if (!train.length || !test.length) throw new Error(`splitting ${set.chunks.length ? 'this trace' : 'an empty trace'} by sequence left the ${train.length ? 'test' : 'training'} part empty`);
  return { train: { manifest: set.manifest, chunks: train }, test: { manifest: set.manifest, chunks: test } };
}
