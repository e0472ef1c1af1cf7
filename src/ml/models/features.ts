/**
 * Windows with the extra inputs of the models in this folder, row-aligned with buildWindows (chunks, tokens,
 * then layers l = C-1..L-1-H). Ids are "layer-expert" ids l*E + e, so every (layer, expert) has its own
 * embedding: expert 3 of layer 5 and expert 3 of layer 6 are different experts.
 *   ctxIds  [n, C*K]    the token's experts at layers l-C+1..l
 *   tgt     [n, H]      the target layers l+1..l+H
 *   prevIds [n, H*P*K]  (history P > 0) the previous P tokens' experts at each target layer, [h][p][k]
 *                       (positions p-1, p-2, ...: a gap ends the history);
 *                       PAD = L*E where the sequence has no such token
 *   token   [n, 1]      (token-aware) the token's vocabulary index, 0 = not in the vocabulary
 */
import { checkTask, windowLayers, type TaskSpec } from '../../core/tasks/task';
import type { TraceSet } from '../../core/trace/types';
import { buildWindows, type RowFilter, type Windows } from '../windows';
import type { Vocabulary } from './vocabulary';

export interface FeatureOptions {
  /** Previous tokens P (0 = none). */
  history: number;
  vocabulary?: Vocabulary;
}

/** The padding id of a layer-expert table: one row past the L*E real ones. */
export const padId = (numLayers: number, numExperts: number) => numLayers * numExperts;

export function buildModelWindows(set: TraceSet, task: TaskSpec, keep: RowFilter | undefined, o: FeatureOptions): Windows {
  const w = buildWindows(set, task, keep);
  const { numLayers: L, numExperts: E, topK: K } = set.manifest;
  checkTask(L, task);
  const { context: C, horizon: H } = task;
  const P = o.history;
  const { first, last } = windowLayers(L, task);
  const PAD = padId(L, E);
  const n = w.count;
  const ctxIds = new Int32Array(n * C * K);
  const tgt = new Int32Array(n * H);
  const prevIds = new Int32Array(n * H * P * K);
  const token = o.vocabulary ? new Int32Array(n) : null;
  const LK = L * K;
  // The last P tokens of the current sequence (most recent first), across chunk boundaries as in scorePredictor.
  const hist: Int16Array[] = [];
  let prevSeq = NaN;
  let prevPos = NaN;
  let i = 0;
  set.chunks.forEach((c, ci) => {
    const ex = c.experts;
    for (let t = 0; t < c.tokens; t++) {
      // A new sequence or a gap in positions (a dropped token) starts a new history: only p-1 is the previous token.
      if (c.seq[t] !== prevSeq || c.pos[t] !== prevPos + 1) hist.length = 0;
      prevSeq = c.seq[t];
      prevPos = c.pos[t];
      const row = ex.subarray(t * LK, (t + 1) * LK);
      if (!keep || keep(ci, t)) {
        const tok = token ? o.vocabulary!.indexOf(c, t) : 0;
        for (let l = first; l <= last; l++, i++) {
          for (let s = 0; s < C; s++) {
            const layer = l - C + 1 + s;
            for (let j = 0; j < K; j++) ctxIds[(i * C + s) * K + j] = layer * E + row[layer * K + j];
          }
          for (let h = 0; h < H; h++) {
            const layer = l + 1 + h;
            tgt[i * H + h] = layer;
            for (let p = 0; p < P; p++)
              for (let j = 0; j < K; j++) prevIds[((i * H + h) * P + p) * K + j] = p < hist.length ? layer * E + hist[p][layer * K + j] : PAD;
          }
          if (token) token[i] = tok;
        }
      }
      if (P > 0) {
        hist.unshift(row);
        if (hist.length > P) hist.length = P;
      }
    }
  });
  if (i !== n) throw new Error(`internal: ${i} model windows for ${n} windows`);
  w.extra = { ctxIds: { data: ctxIds, width: C * K }, tgt: { data: tgt, width: H } };
  if (P > 0) w.extra.prevIds = { data: prevIds, width: H * P * K };
  if (token) w.extra.token = { data: token, width: 1 };
  return w;
}
