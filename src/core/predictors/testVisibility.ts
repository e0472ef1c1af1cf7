/**
 * Test-only: what a task lets a window see, written out independently of window.ts, and the data a window may
 * not see changed — predictors must score such data the same (src/core/predictors/window.test.ts, the sequence
 * model's tests).
 */
import type { TaskSpec } from '../tasks/task';
import type { TraceSet } from '../trace/types';
import type { Predictor } from './types';
import { forEachWindow } from './window';

/** May a window whose current token's last visible layer is l see `layer` of the token `offset` away in its sequence, and its identity? */
export function allowed(task: TaskSpec, l: number, offset: number, layer: number): { routing: boolean; id: boolean } {
  const prefill = task.visibility === 'prefill';
  if (offset < 0) return { routing: true, id: true };
  if (offset === 0) return { routing: layer <= l, id: true };
  return { routing: prefill && (task.kind ?? 'layers') === 'layers' && layer <= l, id: prefill };
}

function rowsOf(set: TraceSet): { seq: number; pos: number }[] {
  const out: { seq: number; pos: number }[] = [];
  for (const c of set.chunks) for (let t = 0; t < c.tokens; t++) out.push({ seq: c.seq[t], pos: c.pos[t] });
  return out;
}

/** The set with every value that the window at (row r, last visible layer l) may not see changed (routing, ids, text). */
export function poisoned(set: TraceSet, task: TaskSpec, r: number, l: number): TraceSet {
  const { numLayers: L, numExperts: E, topK: K } = set.manifest;
  const R = rowsOf(set);
  const chunks = set.chunks.map((c) => {
    const experts = c.experts.slice();
    const tokenId = c.tokenId?.slice();
    const tokenText = c.tokenText?.slice();
    for (let t = 0; t < c.tokens; t++) {
      const sameSeq = c.seq[t] === R[r].seq;
      const offset = c.pos[t] - R[r].pos;
      for (let layer = 0; layer < L; layer++)
        if (!sameSeq || !allowed(task, l, offset, layer).routing)
          for (let j = 0; j < K; j++) experts[(t * L + layer) * K + j] = (experts[(t * L + layer) * K + j] + 1 + j) % E;
      if (!sameSeq || !allowed(task, l, offset, 0).id) {
        if (tokenId) tokenId[t] = -7;
        if (tokenText) tokenText[t] = ' hidden';
      }
    }
    return { ...c, experts, ...(tokenId && { tokenId }), ...(tokenText && { tokenText }) };
  });
  return { manifest: set.manifest, chunks };
}

/** Scores of the windows at (row r, last visible layer l) of `test`, keyed by step and target. */
export function scoresAt(p: Predictor, test: TraceSet, task: TaskSpec, r: number, l: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const s = new Float64Array(test.manifest.numExperts);
  forEachWindow(test, task, (ctx, target, step) => {
    if (ctx.row !== r || ctx.layer !== l) return;
    p.score(ctx, target, s);
    out.set(`${step}/${target}`, Array.from(s));
  });
  return out;
}
