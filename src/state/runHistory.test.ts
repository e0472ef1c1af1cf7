import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { experimentSpecSchema } from '../core/experiment/spec';
import type { PredictorResult } from '../core/predictors/evaluate';
import type { Manifest } from '../core/trace/types';
import type { LoadedInfo } from '../workers/traceProtocol';
import { createNotebookStore } from './notebookStore';
import { runKeyOf } from './runController';
import { RunHistory } from './runHistory';
import { memoryRunsDb } from './runsDb';

const manifest = JSON.parse(readFileSync(new URL('../../traces/demo/manifest.json', import.meta.url), 'utf8')) as Manifest;
const result = (r: number): PredictorResult => ({ kind: 'baseline', recallAtK: [r, r], exact: [r, r], top1: [r, r], top3: [r, r], top5: [r, r], coverage: [[], []], samples: 10 });
const split = { trainSequences: 8, testSequences: 2, trainTokens: 100, testTokens: 20 };

async function setup() {
  const store = createNotebookStore();
  const db = memoryRunsDb();
  const history = new RunHistory(store, db);
  await history.start();
  const id = store.getState().beginLoad('demo');
  store.getState().finishLoad(id, { label: 'demo', manifest, tokens: 1964 } as unknown as LoadedInfo);
  return { store, db, history, s: () => store.getState() };
}

/** What RunController does for one run, in the order the workers answer. */
function simulateRun(store: ReturnType<typeof createNotebookStore>, recall: number, seed: number) {
  const st = () => store.getState();
  st().applyLink(experimentSpecSchema.parse({ ...st().spec, seed }), []);
  const key = runKeyOf(st().spec, st().current!.id);
  st().beginRun(key);
  st().updateTraining(key, { status: 'running' });
  st().addEpoch(key, { epoch: 1, step: 5, lr: 1e-3, trainLoss: 0.4, trainRecall: [recall, recall], valLoss: null, valRecall: null, seconds: 1, samplesPerSecond: 100 });
  st().updateTraining(key, { status: 'done', result: { ...result(recall), kind: 'learned' } });
  return key;
}

describe('RunHistory', () => {
  it('keeps a run once training and the baselines have settled, with its spec, curves and results', async () => {
    const { store, db, s } = await setup();
    const key = simulateRun(store, 0.5, 3);
    // Training done but baselines still scoring: not yet.
    expect(s().runs).toHaveLength(0);
    s().setBaselines(key, { results: { random: result(0.25) }, split });
    expect(s().runs).toHaveLength(1);
    const run = s().runs[0];
    expect(run.spec.seed).toBe(3);
    expect(run.spec.trace).toBe('demo');
    expect(run.status).toBe('done');
    expect(run.trace).toMatchObject({ layers: manifest.numLayers, experts: manifest.numExperts, topK: manifest.topK, tokens: 1964 });
    expect(Object.keys(run.results).sort()).toEqual(['interlayer', 'random']);
    expect(run.epochs).toHaveLength(1);
    expect(run.finishedAt).toBeGreaterThanOrEqual(run.createdAt);
    await Promise.resolve();
    expect((await db.list()).runs).toEqual([run]);
    expect(s().runsSelected).toEqual([run.id]);
  });

  it('starts a new record for every Run press, even one while the last is starting', async () => {
    const { store, s } = await setup();
    const key = runKeyOf(s().spec, s().current!.id);
    s().beginRun(key);
    s().beginRun(key);
    s().updateTraining(key, { status: 'error', error: 'no backend' });
    s().failBaselines(key, 'stopped');
    expect(s().runs).toHaveLength(1);
    simulateRun(store, 0.4, 0);
    s().setBaselines(runKeyOf(s().spec, s().current!.id), { results: {}, split });
    expect(s().runs).toHaveLength(2);
    expect(s().runs.map((r) => r.status)).toEqual(['error', 'done']);
  });

  it('renames, annotates, deletes, and exports / imports through a validated file', async () => {
    const { store, history, s } = await setup();
    const k1 = simulateRun(store, 0.5, 1);
    s().setBaselines(k1, { results: { random: result(0.25) }, split });
    const k2 = simulateRun(store, 0.6, 2);
    s().failBaselines(k2, 'worker gone');
    expect(s().runs).toHaveLength(2);
    expect(s().runs[1].error).toBe('worker gone');
    const [a, b] = s().runs;
    await history.rename(a.id, 'first');
    await history.annotate(a.id, 'lr too high?');
    expect(s().runs[0]).toMatchObject({ name: 'first', note: 'lr too high?' });
    const file = history.exportText([a.id]);
    expect(file.count).toBe(1);
    await history.remove(a.id);
    expect(s().runs.map((r) => r.id)).toEqual([b.id]);

    // A second page (another store and database) reads the file back.
    const other = await setup();
    await other.history.importFile('runs.json', async () => file.text);
    expect(other.s().runs).toEqual([{ ...a, name: 'first', note: 'lr too high?' }]);
    expect(other.s().runsNote).toEqual({ kind: 'info', text: 'Imported 1 run(s) from runs.json.' });
    await other.history.importFile('bad.json', async () => '{"format":"speclab-runs","version":1,"runs":[{"id":"x"}]}');
    expect(other.s().runsNote?.kind).toBe('error');
    expect(other.s().runsNote?.text).toMatch(/^bad\.json: runs\.0\.name: .*Nothing was imported\.$/);
    expect(other.s().runs).toHaveLength(1);
  });
});
