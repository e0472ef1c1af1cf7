import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { experimentSpecSchema, type ModelKind } from '../core/experiment/spec';
import type { PredictorResult } from '../core/predictors/evaluate';
import type { Manifest } from '../core/trace/types';
import type { TrainingCallbacks, TrainingClient, TrainingJob, TrainingOutcome } from '../workers/trainingClient';
import type { LoadedInfo } from '../workers/traceProtocol';
import { createNotebookStore } from './notebookStore';
import { RunController, runKeyOf } from './runController';
import { RunHistory } from './runHistory';
import { memoryRunsDb } from './runsDb';
import type { TraceController } from './traceController';

const manifest = JSON.parse(readFileSync(new URL('../../traces/demo/manifest.json', import.meta.url), 'utf8')) as Manifest;
const result = (kind: 'learned' | 'baseline', r: number): PredictorResult => ({
  kind,
  recallAtK: [r],
  exact: [r],
  top1: [r],
  top3: [r],
  top5: [r],
  coverage: [[]],
  samples: 5,
});
const split = { trainSequences: 8, testSequences: 2, trainTokens: 100, testTokens: 20 };
const empty = { manifest, chunks: [] };

/** A training worker in memory: each model kind scores its own recall; a job can be held (stopped) and resumed. */
class FakeTrainer implements TrainingClient {
  jobs: string[] = [];
  resumed = 0;
  private last: ModelKind = 'interlayer';
  constructor(private readonly recall: Partial<Record<ModelKind, number>>) {}
  private outcome(state: 'done' | 'stopped'): TrainingOutcome {
    const summary = { step: 4, totalSteps: 4 } as TrainingOutcome['summary'];
    const backend = { backend: 'cpu' as const, failures: [] };
    return { state, summary, result: state === 'done' ? result('learned', this.recall[this.last] ?? 0) : null, backend, model: this.last };
  }
  async start(job: TrainingJob, cb: TrainingCallbacks = {}) {
    this.last = job.model ?? 'interlayer';
    this.jobs.push(this.last);
    cb.onBackend?.({ backend: 'cpu', failures: [] });
    cb.onEpoch?.({ epoch: 1, step: 4, lr: 1e-3, trainLoss: 0.5, trainRecall: [0.1], valLoss: null, valRecall: null, seconds: 1 } as never);
    return this.outcome(job.config.epochs === 99 ? 'stopped' : 'done');
  }
  async stop() {}
  async resume() {
    this.resumed++;
    return this.outcome('done');
  }
  async results() {
    return result('learned', 0);
  }
  async exportFiles() {
    return { [`${this.last}.json`]: new TextEncoder().encode(`{"model":"${this.last}"}`), [`${this.last}.safetensors`]: Uint8Array.of(1, 2, 3) };
  }
  terminate() {}
  async injectFault() {
    return false;
  }
}

async function setup(trainer: FakeTrainer) {
  const store = createNotebookStore();
  const history = new RunHistory(store, memoryRunsDb());
  await history.start();
  const traces = {
    client: { baselines: async () => ({ results: { random: result('baseline', 0.05) }, split }), splitData: async () => ({ train: empty, test: empty }) },
  } as unknown as TraceController;
  const runs = new RunController(store, traces, () => trainer);
  const id = store.getState().beginLoad('demo');
  store.getState().finishLoad(id, { label: 'demo', manifest, tokens: 1964 } as unknown as LoadedInfo);
  const st = () => store.getState();
  const choose = (kind: ModelKind, epochs = 1) => st().applyLink(experimentSpecSchema.parse({ ...st().spec, model: { ...st().spec.model, kind, epochs } }), []);
  return { store, history, runs, st, choose };
}

describe('RunController', () => {
  it('trains the chosen model and keeps its result under its kind, beside the baselines', async () => {
    const trainer = new FakeTrainer({ interlayer: 0.6, joint: 0.43 });
    const { runs, st, choose } = await setup(trainer);
    choose('interlayer');
    await runs.run();
    choose('joint');
    await runs.run();
    expect(trainer.jobs).toEqual(['interlayer', 'joint']);
    expect(st().training).toMatchObject({ status: 'done', model: 'joint', result: { recallAtK: [0.43] } });
    expect(st().runKey).toBe(runKeyOf(st().spec, st().current!.id));
    const [a, b] = st().runs;
    expect(Object.keys(a.results).sort()).toEqual(['interlayer', 'random']);
    expect(Object.keys(b.results).sort()).toEqual(['joint', 'random']);
    expect([a.results.interlayer.recallAtK[0], b.results.joint.recallAtK[0]]).toEqual([0.6, 0.43]);
  });

  it('resumes only the job the worker holds, not a stopped kept run opened since', async () => {
    const trainer = new FakeTrainer({ interlayer: 0.6, joint: 0.43 });
    const { runs, history, st, choose } = await setup(trainer);
    choose('joint', 99); // the fake stops a job of 99 epochs
    await runs.run();
    expect(st().training.status).toBe('stopped');
    const stopped = st().runs[0];
    choose('interlayer');
    await runs.run();
    // Open the stopped joint run: it shows, but Resume has no job of its own to continue.
    history.open(stopped.id);
    st().applyLink(stopped.spec, []);
    expect(st().training).toMatchObject({ status: 'stopped', model: 'joint' });
    await runs.resume();
    expect(trainer.resumed).toBe(0);
    expect(st().training.status).toBe('stopped');
    // The worker's own stopped job resumes.
    choose('joint', 99);
    await runs.run();
    await runs.resume();
    expect(trainer.resumed).toBe(1);
    expect(st().training).toMatchObject({ status: 'done', model: 'joint', result: { recallAtK: [0.43] } });
  });

  it('exports the finished model of the shown run as one zip named after its kind, and nothing else', async () => {
    const trainer = new FakeTrainer({ interlayer: 0.6, joint: 0.43 });
    const { runs, history, st, choose } = await setup(trainer);
    await expect(runs.exportModel()).rejects.toThrow('no trained model to export');
    choose('joint');
    await runs.run();
    const { name, zip } = await runs.exportModel();
    expect(name).toBe('speclab-joint.zip');
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['joint.json', 'joint.safetensors']);
    expect(new TextDecoder().decode(files['joint.json'])).toBe('{"model":"joint"}');
    // A stopped run has no model to export; nor has a kept run opened since (the worker holds another).
    const joint = st().runs[0];
    choose('interlayer', 99);
    await runs.run();
    await expect(runs.exportModel()).rejects.toThrow('no trained model to export');
    history.open(joint.id);
    st().applyLink(joint.spec, []);
    await expect(runs.exportModel()).rejects.toThrow('no trained model to export');
  });
});
