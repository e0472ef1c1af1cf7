/**
 * The residual blend (blend.ts) with the lookahead gate: on the demo set, which records the gate, the blend is chosen
 * with the gate's part, so the learned model is at or above the gate on validation and on the test split; on a trace
 * without it, the gate has no part.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dirSource } from '../cli/fsTrace';
import { scorePredictor } from '../core/predictors/evaluate';
import { lookaheadPredictor } from '../core/predictors/lookahead';
import { mixtralVariant } from '../core/predictors/testTraces';
import { splitBySequence, type TaskSpec } from '../core/tasks/task';
import { readTraceSet } from '../core/trace/read';
import { withBaselines } from './blend';
import { parseInterLayerConfig } from './config';
import { sequencePredictor } from './sequence/sequencePredictor';

const DEMO = fileURLToPath(new URL('../../traces/demo/', import.meta.url));
const TASK: TaskSpec = { kind: 'layers', context: 3, horizon: 2, visibility: 'decode' };

describe('residual blend with the lookahead gate', () => {
  it('weighs the gate in where the trace records it: the learned model is at or above the gate', { timeout: 120_000 }, async () => {
    const set = await readTraceSet(dirSource(DEMO));
    const { train, test } = splitBySequence(set, 0.2, 0);
    const config = parseInterLayerConfig({ seed: 0, hiddenUnits: 16 });
    const p = withBaselines(sequencePredictor(set.manifest, { config }), set.manifest, config);
    await p.fit(train, TASK);
    expect(p.blend!.steps.some((s) => (s.weights.gate ?? 0) > 0)).toBe(true);
    await p.prepare(test, TASK);
    const learned = scorePredictor(p, test, TASK).recallAtK;
    const gate = lookaheadPredictor(set.manifest);
    gate.prepare(test, TASK);
    const g = scorePredictor(gate, test, TASK).recallAtK;
    for (let h = 0; h < 2; h++) expect(learned[h]).toBeGreaterThanOrEqual(g[h]);
  });

  it('gives the gate no part on a trace without lookahead logits', { timeout: 120_000 }, async () => {
    const set = mixtralVariant();
    const { train } = splitBySequence(set, 0.5, 0);
    const config = parseInterLayerConfig({ seed: 0, hiddenUnits: 16, epochs: 2 });
    const p = withBaselines(sequencePredictor(set.manifest, { config }), set.manifest, config);
    await p.fit(train, TASK);
    for (const s of p.blend!.steps) expect(s.weights.gate ?? 0).toBe(0);
  });
});
