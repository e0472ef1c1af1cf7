import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { experimentSpecSchema, type ModelKind } from '../core/experiment/spec';
import { parseRunFile, type RunRecord } from '../core/runs/record';
import type { PredictorResult } from '../core/predictors/evaluate';
import type { Manifest } from '../core/trace/types';
import type { LoadedInfo } from '../workers/traceProtocol';
import { createNotebookStore } from './notebookStore';
import { runKeyOf } from './runController';
import { RunHistory, runErrors } from './runHistory';
import { memoryRunsDb } from './runsDb';

const manifest = JSON.parse(readFileSync(new URL('../../traces/demo/manifest.json', import.meta.url), 'utf8')) as Manifest;
const result = (r: number): PredictorResult => ({
  kind: 'baseline',
  recallAtK: [r, r],
  exact: [r, r],
  top1: [r, r],
  top3: [r, r],
  top5: [r, r],
  coverage: [[], []],
  samples: 10,
});
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
function simulateRun(store: ReturnType<typeof createNotebookStore>, recall: number, seed: number, kind?: ModelKind) {
  const st = () => store.getState();
  st().applyLink(experimentSpecSchema.parse({ ...st().spec, seed, model: { ...st().spec.model, kind: kind ?? st().spec.model.kind } }), []);
  const key = runKeyOf(st().spec, st().current!.id);
  st().beginRun(key, kind);
  st().updateTraining(key, { status: 'running' });
  st().addEpoch(key, {
    epoch: 1,
    step: 5,
    lr: 1e-3,
    trainLoss: 0.4,
    trainRecall: [recall, recall],
    valLoss: null,
    valRecall: null,
    seconds: 1,
    samplesPerSecond: 100,
  });
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

  it("keeps a failed run's message once when the baselines and the training fail with the same reason", async () => {
    const { store, db, s } = await setup();
    const key = runKeyOf(s().spec, s().current!.id);
    const why = 'the split left the test part empty: 2 sequences, test fraction 0.2';
    s().beginRun(key);
    s().updateTraining(key, { status: 'error', error: why });
    s().failBaselines(key, why);
    expect(s().runs).toHaveLength(1);
    expect(s().runs[0].error).toBe(why);
    await Promise.resolve();
    expect((await db.list()).runs[0].error).toBe(why);
    // Different reasons are both kept, in order.
    const key2 = simulateRun(store, 0.4, 7);
    s().updateTraining(key2, { status: 'error', error: 'no backend' });
    s().failBaselines(key2, 'worker gone');
    expect(s().runs[1].error).toBe('no backend; worker gone');
  });

  it('runErrors says each message once, a message contained in another once, and drops empty ones', () => {
    expect(runErrors('a', 'a')).toEqual(['a']);
    expect(runErrors('split failed', 'the baselines: split failed')).toEqual(['the baselines: split failed']);
    expect(runErrors('the baselines: split failed', 'split failed')).toEqual(['the baselines: split failed']);
    expect(runErrors(null, undefined, '', '  ')).toEqual([]);
    expect(runErrors('a', 'b')).toEqual(['a', 'b']);
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

  it("keeps each learned result under the model that trained it, and Open shows that run's own model and numbers", async () => {
    const { store, s, history } = await setup();
    const k1 = simulateRun(store, 0.599, 1, 'interlayer');
    s().setBaselines(k1, { results: { random: result(0.05) }, split });
    const k2 = simulateRun(store, 0.434, 1, 'joint');
    // The spec changes while the joint run's baselines are still scoring: the run keeps its own kind.
    s().applyLink(experimentSpecSchema.parse({ ...s().spec, model: { ...s().spec.model, kind: 'attention' } }), []);
    s().setBaselines(k2, { results: { random: result(0.06) }, split });
    const [a, b] = s().runs;
    expect(Object.keys(a.results).sort()).toEqual(['interlayer', 'random']);
    expect(Object.keys(b.results).sort()).toEqual(['joint', 'random']);
    expect(b.results.joint.recallAtK[0]).toBe(0.434);

    // The page shows the joint run; Open on the InterLayer run shows InterLayer's 59.9 %, not joint's.
    expect(s().training.model).toBe('joint');
    expect(history.open(a.id)).toEqual(a.spec);
    s().applyLink(a.spec, []); // what the link does next
    expect(s().training).toMatchObject({ model: 'interlayer', status: 'done', result: a.results.interlayer, epochs: a.epochs });
    expect(s().baselines).toEqual({ results: { random: a.results.random }, split });
    expect(s().runKey).toBe(runKeyOf(a.spec, s().current!.id)); // same trace set: current, not stale
    history.open(b.id);
    expect(s().training).toMatchObject({ model: 'joint', result: b.results.joint });
    expect(s().baselines?.results.random.recallAtK[0]).toBe(0.06);
    // Opening records nothing new and changes no kept run.
    await Promise.resolve();
    expect(s().runs).toEqual([a, b]);
    expect(history.open('no-such-run')).toBeNull();
  });

  it('opens kept runs on another trace set as not of the loaded one', async () => {
    const { store, s, history } = await setup();
    const k = simulateRun(store, 0.5, 1, 'joint');
    s().setBaselines(k, { results: {}, split });
    const run = s().runs[0];
    await history.importFile('other.json', async () =>
      JSON.stringify({ format: 'speclab-runs', version: 2, runs: [{ ...run, id: 'other', trace: { ...run.trace, tokens: 5 } }] }),
    );
    history.open('other');
    expect(s().runKey).toBe('opened:other');
    expect(s().training.result).toEqual(run.results.joint);
  });

  it('migrates records kept in the browser before results were keyed by model kind', async () => {
    const v1 = parseRunFile(readFileSync(new URL('../core/runs/fixtures/runs-v1.json', import.meta.url), 'utf8'));
    if (!v1.ok) throw new Error(v1.message);
    // As IndexedDB holds them: the joint run's learned result still under "interlayer".
    const legacy: RunRecord[] = v1.runs.map((r) => {
      const { [r.spec.model.kind]: learned, ...rest } = r.results;
      return { ...r, results: { ...rest, interlayer: learned } };
    });
    const db = memoryRunsDb();
    for (const r of legacy) await db.put(r);
    const store = createNotebookStore();
    await new RunHistory(store, db).start();
    expect(store.getState().runs).toEqual(v1.runs);
    expect(store.getState().runs[1].results.joint.recallAtK[0]).toBe(0.434);
  });
});
