import { createRng } from '../experiment/rng';
import { lookaheadWidth, sliceChunk } from '../trace/chunk';
import type { TraceChunk, TraceSet, TraceShape } from '../trace/types';

/**
 * The two speculation tasks:
 * - `layers` (next layers): from the experts of layers l-C+1..l of a token, predict its top-k sets at l+1..l+H;
 * - `tokens` (next tokens, the reference design's): from the routing of the last C tokens t-C+1..t (every layer),
 *   predict every layer's top-k set of tokens t+1..t+H.
 * `visibility` states what a predictor may see when it predicts (src/core/predictors/window.ts enforces it):
 * - `decode`: tokens up to the current one, their identities and routing; of the current token, in the layers
 *   task, only its layers up to l (the next-tokens task's current token t is fully routed);
 * - `prefill`: also every token identity of the sequence (the whole prompt is known), and in the layers task the
 *   routing of layers up to l of every token of the sequence (a prompt goes through layer l before layer l+1).
 */
export type TaskKind = 'layers' | 'tokens';
export type Visibility = 'decode' | 'prefill';
export const TASK_KINDS = ['layers', 'tokens'] as const satisfies readonly TaskKind[];
export const VISIBILITIES = ['decode', 'prefill'] as const satisfies readonly Visibility[];

export interface TaskSpec {
  /** Absent: 'layers'. */
  kind?: TaskKind;
  context: number;
  horizon: number;
  /** Absent: 'decode'. */
  visibility?: Visibility;
}

export const DEFAULT_TASK: TaskSpec = { kind: 'layers', context: 3, horizon: 2, visibility: 'decode' };

export const taskKind = (t: TaskSpec): TaskKind => t.kind ?? 'layers';

/** The task a model config (src/core/experiment/modelConfig.ts) carries. */
export function taskOfConfig(c: { taskKind?: TaskKind; context: number; horizon: number; visibility?: Visibility }): TaskSpec {
  return { kind: c.taskKind ?? 'layers', context: c.context, horizon: c.horizon, visibility: c.visibility ?? 'decode' };
}
export const visibilityOf = (t: TaskSpec): Visibility => t.visibility ?? 'decode';

/** E.g. "next layers (C 3, H 2, decode)". */
export function describeTask(t: TaskSpec): string {
  return `next ${taskKind(t)} (C ${t.context}, H ${t.horizon}, ${visibilityOf(t)})`;
}

/**
 * The last-context layers l that have C context layers and H target layers inside the model. In the next-tokens
 * task every prediction is made after the token's last layer: first = last = L-1.
 */
export function windowLayers(numLayers: number, task: TaskSpec): { first: number; last: number } {
  if (taskKind(task) === 'tokens') return { first: numLayers - 1, last: numLayers - 1 };
  return { first: task.context - 1, last: numLayers - 1 - task.horizon };
}

export function checkTask(numLayers: number, task: TaskSpec): void {
  if (!TASK_KINDS.includes(taskKind(task))) throw new Error(`task must be one of ${TASK_KINDS.join(', ')} (got ${String(task.kind)})`);
  if (!VISIBILITIES.includes(visibilityOf(task))) throw new Error(`visibility must be one of ${VISIBILITIES.join(', ')} (got ${String(task.visibility)})`);
  if (!Number.isInteger(task.context) || task.context < 1) throw new Error(`context must be an integer ≥ 1 (got ${task.context})`);
  if (!Number.isInteger(task.horizon) || task.horizon < 1) throw new Error(`horizon must be an integer ≥ 1 (got ${task.horizon})`);
  if (taskKind(task) === 'tokens') return;
  const { first, last } = windowLayers(numLayers, task);
  if (first > last) throw new Error(`context ${task.context} + horizon ${task.horizon} need more than the trace's ${numLayers} MoE layers`);
}

/** Throws a clear error when a predictor that handles only the next-layers task in decode is asked for another. */
export function requireLayersDecode(task: TaskSpec, predictor: string): void {
  if (taskKind(task) !== 'layers' || visibilityOf(task) !== 'decode')
    throw new Error(
      `${predictor} predicts only the next-layers task with decode visibility (asked for ${describeTask(task)}); the sequence model and the baselines handle every task`,
    );
}

/** Gathers the given rows of a chunk into a new chunk (copies). Also used by the dataset filter. */
export function gatherRows(c: TraceChunk, rows: number[], LK: number, LE: number): TraceChunk {
  const n = rows.length;
  const LA = lookaheadWidth(c);
  const out: TraceChunk = {
    tokens: n,
    seq: new Int32Array(n),
    pos: new Int32Array(n),
    dataset: new Uint16Array(n),
    experts: new Int16Array(n * LK),
    ...(c.weights && { weights: new Float32Array(n * LK) }),
    ...(c.logits && { logits: new Float32Array(n * LE) }),
    ...(c.lookahead && { lookahead: new Float32Array(n * LA) }),
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
    out.lookahead?.set(c.lookahead!.subarray(r * LA, (r + 1) * LA), i * LA);
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

/** What a split by sequence did: how many sequences and tokens went to each part. */
export interface SplitSummary {
  trainSequences: number;
  testSequences: number;
  trainTokens: number;
  testTokens: number;
  /** Present when a part had more windows than training takes: the tokens of the split before sampling. */
  sampledFrom?: { trainTokens: number; testTokens: number };
  /**
   * Present when the seeded draw left a part empty and one sequence (its id) was moved there, so that each part
   * has at least one.
   */
  moved?: { sequence: number; to: 'train' | 'test' };
}

/** A split by sequence needs two sequences at least; this says why one cannot be made, else undefined. */
export function splitProblem(sequences: number): string | undefined {
  if (sequences >= 2) return undefined;
  return `cannot split ${sequences === 0 ? 'an empty trace' : 'a trace of 1 sequence'} by sequence into training and test parts (it needs 2 sequences at least; give a separate test set instead)`;
}

/**
 * Splits a trace set by sequence (never by token, so no sequence leaks between train and test).
 * Each sequence goes to test with probability `testFraction`, drawn from a seeded stream in the order sequences
 * first appear. When that leaves a part empty, one sequence drawn from the same stream moves there (reported as
 * `split.moved`): with 2 sequences or more, each part has at least one, the same for the same seed. Fewer than
 * 2 sequences, or a fraction outside (0, 1), throw. The parts are views of the set's arrays.
 */
export function splitBySequence(set: TraceSet, testFraction: number, seed: number): { train: TraceSet; test: TraceSet; split: SplitSummary } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`test fraction must be between 0 and 1, exclusive (got ${testFraction})`);
  const rnd = createRng(seed);
  // Sequence id -> 1 (test) or 0 (train), drawn at its first row; `order` lists ids as they first appear.
  const side = new Map<number, number>();
  const order: number[] = [];
  let last: number | undefined;
  for (const c of set.chunks)
    for (let t = 0; t < c.tokens; t++) {
      const s = c.seq[t];
      if (s === last) continue;
      last = s;
      if (!side.has(s)) {
        side.set(s, rnd() < testFraction ? 1 : 0);
        order.push(s);
      }
    }
  const problem = splitProblem(order.length);
  if (problem) throw new Error(problem);
  let inTest = 0;
  for (const v of side.values()) inTest += v;
  let moved: SplitSummary['moved'];
  if (inTest === 0 || inTest === order.length) {
    const sequence = order[Math.min(order.length - 1, Math.floor(rnd() * order.length))];
    side.set(sequence, inTest === 0 ? 1 : 0);
    moved = { sequence, to: inTest === 0 ? 'test' : 'train' };
  }
  const train: TraceChunk[] = [];
  const test: TraceChunk[] = [];
  const counts = { trainSequences: 0, testSequences: 0, trainTokens: 0, testTokens: 0 };
  for (const v of side.values()) if (v) counts.testSequences++;
  counts.trainSequences = order.length - counts.testSequences;
  last = undefined;
  let lastSide = 0;
  for (const c of set.chunks) {
    const rowSide = new Uint8Array(c.tokens);
    for (let t = 0; t < c.tokens; t++) {
      if (c.seq[t] !== last) {
        last = c.seq[t];
        lastSide = side.get(last)!;
      }
      rowSide[t] = lastSide;
      if (lastSide) counts.testTokens++;
      else counts.trainTokens++;
    }
    keptRuns(c, set.manifest, (t) => rowSide[t] === 0, train);
    keptRuns(c, set.manifest, (t) => rowSide[t] === 1, test);
  }
  return { train: { manifest: set.manifest, chunks: train }, test: { manifest: set.manifest, chunks: test }, split: moved ? { ...counts, moved } : counts };
}

/**
 * Windows per token for a task on L layers: (token, last context layer) pairs in the layers task; in the tokens
 * task a window is a token with its full context and horizon (1 per token at most).
 */
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
