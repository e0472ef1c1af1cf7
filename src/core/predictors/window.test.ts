/**
 * The window walk (window.ts) on the shared real Mixtral trace: which windows each task has, and that a predictor
 * sees exactly what the task's visibility allows — checked against a rule written out here, and by feeding the
 * predictors data that differs only where the task hides it (the scores must not change).
 */
import { describe, expect, it } from 'vitest';
import { splitBySequence, type TaskSpec } from '../tasks/task';
import type { TraceSet } from '../trace/types';
import { BASELINES } from './baselines';
import { scorePredictor } from './evaluate';
import { mixtralVariant } from './testTraces';
import type { PredictionContext } from './types';
import { forEachWindow } from './window';
import { allowed, poisoned, scoresAt } from './testVisibility';

const TASKS: TaskSpec[] = [
  { kind: 'layers', context: 3, horizon: 2, visibility: 'decode' },
  { kind: 'layers', context: 3, horizon: 2, visibility: 'prefill' },
  { kind: 'tokens', context: 3, horizon: 2, visibility: 'decode' },
  { kind: 'tokens', context: 3, horizon: 2, visibility: 'prefill' },
];

/** The Mixtral trace with made-up token ids (so identity visibility can be checked; the routing is the real one). */
function withIds(set: TraceSet): TraceSet {
  return {
    manifest: { ...set.manifest, hasTokenIds: true },
    chunks: set.chunks.map((c) => ({ ...c, tokenId: Int32Array.from(c.pos, (p, i) => 1000 * c.seq[i] + p) })),
  };
}

/** Flat rows of a set with their sequence and position. */
function rows(set: TraceSet): { seq: number; pos: number }[] {
  const out: { seq: number; pos: number }[] = [];
  for (const c of set.chunks) for (let t = 0; t < c.tokens; t++) out.push({ seq: c.seq[t], pos: c.pos[t] });
  return out;
}

describe('forEachWindow', () => {
  const set = withIds(mixtralVariant());
  const { numLayers: L, topK: K } = set.manifest;
  const R = rows(set);

  it('has (token, layer) windows in the next-layers task and tokens with full context and horizon in the next-tokens task', () => {
    const tokens = R.length;
    expect(forEachWindow(set, TASKS[0], () => {})).toBe(tokens * (L - 3 - 2 + 1));
    // Each sequence of n consecutive positions has n - (C-1) - H windows.
    const perSeq = new Map<number, number>();
    for (const r of R) perSeq.set(r.seq, (perSeq.get(r.seq) ?? 0) + 1);
    const expected = [...perSeq.values()].reduce((a, n) => a + Math.max(0, n - 2 - 2), 0);
    let visits = 0;
    expect(forEachWindow(set, TASKS[2], () => visits++)).toBe(expected);
    expect(visits).toBe(expected * 2 * L);
  });

  for (const task of TASKS)
    it(`shows a predictor exactly what ${task.kind}/${task.visibility} allows`, () => {
      let checked = 0;
      forEachWindow(set, task, (ctx: PredictionContext, target, step) => {
        if (step !== 0 || target !== (task.kind === 'tokens' ? 0 : ctx.layer + 1)) return;
        const r = ctx.row!;
        if (task.kind === 'layers' && r % 5 !== 0) return;
        for (let layer = 0; layer < L; layer++) expect(ctx.token[layer * K] !== -1).toBe(layer <= ctx.layer);
        for (let offset = -3; offset <= 3; offset++) {
          const other = R[r + offset];
          const exists = other !== undefined && other.seq === R[r].seq && other.pos === R[r].pos + offset;
          for (let layer = 0; layer < L; layer++) {
            const rule = allowed(task, ctx.layer, offset, layer);
            expect(ctx.view!.experts(offset, layer) !== null, `offset ${offset} layer ${layer}`).toBe(exists && rule.routing);
          }
          expect(ctx.view!.tokenId(offset) !== -1, `id at offset ${offset}`).toBe(exists && allowed(task, ctx.layer, offset, 0).id);
        }
        checked++;
      });
      expect(checked).toBeGreaterThan(100);
    });

  for (const task of TASKS)
    it(`baselines score the same when what ${task.kind}/${task.visibility} hides is changed`, async () => {
      const { train } = splitBySequence(set, 0.5, 0);
      for (const name of ['frequency', 'markov', 'temporal']) {
        const p = BASELINES[name](set.manifest, 0);
        await p.fit(train, task);
        for (const r of [5, 60, R.length - 40]) {
          const l = task.kind === 'tokens' ? L - 1 : 7;
          const before = scoresAt(p, set, task, r, l);
          expect(before.size).toBeGreaterThan(0);
          expect(scoresAt(p, poisoned(set, task, r, l), task, r, l), `${name} at row ${r}`).toEqual(before);
        }
      }
    });

  it('scores the next-tokens task: the baselines that use routing beat frequency on held-out sequences', async () => {
    const { train, test } = splitBySequence(set, 0.5, 0);
    const task = TASKS[2];
    const recall: Record<string, number> = {};
    for (const name of ['frequency', 'markov', 'temporal']) {
      const p = BASELINES[name](set.manifest, 0);
      await p.fit(train, task);
      const res = scorePredictor(p, test, task);
      expect(res.recallAtK).toHaveLength(2);
      recall[name] = res.recallAtK[0];
    }
    expect(recall.temporal).toBeGreaterThan(recall.frequency + 0.02);
    expect(recall.markov).toBeGreaterThan(recall.frequency + 0.02);
  });
});
