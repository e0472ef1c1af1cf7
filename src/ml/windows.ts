/**
 * Training and test samples for inter-layer speculation, as flat typed arrays ready to upload as tensors.
 * A window is one (token, last context layer l) pair, in the order src/core/predictors/evaluate.ts scores them:
 * chunks, then tokens, then l from C-1 to L-1-H.
 */
import { createRng } from '../core/experiment/rng';
import { checkTask, windowLayers, type TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';

export interface Windows {
  count: number;
  context: number;
  horizon: number;
  topK: number;
  /** [n, C*K]: the token's experts at layers l-C+1..l, rank order within a layer. */
  ctxExperts: Int32Array;
  /** [n, C]: the layer index of each context step (for the layer-position embedding). */
  ctxLayers: Int32Array;
  /** [n, H]: the target layers l+1..l+H. */
  targetLayers: Int32Array;
  /** [n, H*K]: the true top-k experts at each target layer. */
  targets: Int32Array;
  /** Further per-window integer inputs some models take (src/ml/models/features.ts), `width` values per window. */
  extra?: Record<string, { data: Int32Array; width: number }>;
}

/** Which tokens to take: (chunk index, row) → keep. */
export type RowFilter = (chunk: number, row: number) => boolean;

export function buildWindows(set: TraceSet, task: TaskSpec, keep?: RowFilter): Windows {
  const { numLayers: L, topK: K } = set.manifest;
  checkTask(L, task);
  const { context: C, horizon: H } = task;
  const { first, last } = windowLayers(L, task);
  const perToken = last - first + 1;
  let tokens = 0;
  set.chunks.forEach((c, ci) => {
    for (let t = 0; t < c.tokens; t++) if (!keep || keep(ci, t)) tokens++;
  });
  const n = tokens * perToken;
  const w: Windows = {
    count: n,
    context: C,
    horizon: H,
    topK: K,
    ctxExperts: new Int32Array(n * C * K),
    ctxLayers: new Int32Array(n * C),
    targetLayers: new Int32Array(n * H),
    targets: new Int32Array(n * H * K),
  };
  let i = 0;
  set.chunks.forEach((c, ci) => {
    const ex = c.experts;
    for (let t = 0; t < c.tokens; t++) {
      if (keep && !keep(ci, t)) continue;
      const base = t * L * K;
      for (let l = first; l <= last; l++, i++) {
        // Layers l-C+1..l are contiguous in the token's row, so one copy takes the whole context.
        const from = base + (l - C + 1) * K;
        for (let q = 0; q < C * K; q++) w.ctxExperts[i * C * K + q] = ex[from + q];
        for (let s = 0; s < C; s++) w.ctxLayers[i * C + s] = l - C + 1 + s;
        for (let h = 1; h <= H; h++) {
          w.targetLayers[i * H + h - 1] = l + h;
          const at = base + (l + h) * K;
          for (let j = 0; j < K; j++) w.targets[(i * H + h - 1) * K + j] = ex[at + j];
        }
      }
    }
  });
  return w;
}

export interface ValidationSplit {
  train: RowFilter;
  val: RowFilter | null;
  /** 'sequence': whole sequences held out; 'tail': the only sequence's last tokens; 'none': no validation. */
  how: 'sequence' | 'tail' | 'none';
  valTokens: number;
}

/**
 * Holds out round(fraction × sequences) whole sequences (at least one, never all) for validation, chosen by a
 * seeded shuffle. A training set of a single sequence can only give up its last tokens instead (contiguous, so
 * the two parts share as little as one sequence allows).
 */
export function validationSplit(set: TraceSet, fraction: number, seed: number): ValidationSplit {
  const all: RowFilter = () => true;
  if (fraction <= 0) return { train: all, val: null, how: 'none', valTokens: 0 };
  const seqs: number[] = [];
  let total = 0;
  for (const c of set.chunks) {
    total += c.tokens;
    for (let t = 0; t < c.tokens; t++) if (seqs[seqs.length - 1] !== c.seq[t]) seqs.push(c.seq[t]);
  }
  const distinct = [...new Set(seqs)];
  if (distinct.length >= 2) {
    const rnd = createRng(seed ^ 0x5eed);
    for (let i = distinct.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [distinct[i], distinct[j]] = [distinct[j], distinct[i]];
    }
    const nVal = Math.min(distinct.length - 1, Math.max(1, Math.round(fraction * distinct.length)));
    const held = new Set(distinct.slice(0, nVal));
    const inVal: RowFilter = (ci, t) => held.has(set.chunks[ci].seq[t]);
    let valTokens = 0;
    set.chunks.forEach((c, ci) => {
      for (let t = 0; t < c.tokens; t++) if (inVal(ci, t)) valTokens++;
    });
    return { train: (ci, t) => !inVal(ci, t), val: inVal, how: 'sequence', valTokens };
  }
  const valTokens = Math.min(total - 1, Math.max(1, Math.round(fraction * total)));
  if (valTokens < 1) return { train: all, val: null, how: 'none', valTokens: 0 };
  // Global row index of each chunk's first row, to compare against the cut.
  const starts: number[] = [];
  let acc = 0;
  for (const c of set.chunks) {
    starts.push(acc);
    acc += c.tokens;
  }
  const cut = total - valTokens;
  return { train: (ci, t) => starts[ci] + t < cut, val: (ci, t) => starts[ci] + t >= cut, how: 'tail', valTokens };
}
