// The worker's API end to end over a real MessageChannel with comlink, as the page uses it (minus Vite's Worker).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expose } from 'comlink';
import { afterAll, describe, expect, it } from 'vitest';
import { splitBySequence } from '../core/tasks/task';
import { wrapTrainingEndpoint } from '../workers/trainingClient';
import type { BackendReport } from './backend';
import { layerChainTrace } from './testTrace';
import type { EpochMetrics } from './trainingSession';
import { TrainingService } from './trainingService';

const { port1, port2 } = new MessageChannel();
const service = new TrainingService();
expose(
  {
    start: service.start.bind(service),
    stop: service.stop.bind(service),
    resume: service.resume.bind(service),
    results: service.results.bind(service),
    exportFiles: service.exportFiles.bind(service),
    dispose: service.dispose.bind(service),
  },
  port1 as never,
);
const client = wrapTrainingEndpoint(port2 as never);

afterAll(() => {
  client.terminate();
  port1.close();
  port2.close();
});

const job = () => {
  const set = layerChainTrace({ tokens: 240, numLayers: 5, numExperts: 6, topK: 2, seqLen: 20, seed: 5 });
  const { train, test } = splitBySequence(set, 0.25, 0);
  return { config: { context: 2, horizon: 2, batchSize: 32, embeddingDim: 8, hiddenUnits: 8, lr: 0.01, epochs: 3 }, train, test, backend: 'cpu' as const };
};

describe('training worker API over comlink', () => {
  it('reports the backend and every epoch, moves the trace arrays, and returns the scored model', async () => {
    const j = job();
    const backends: BackendReport[] = [];
    const epochs: EpochMetrics[] = [];
    const out = await client.start(j, { onBackend: (b) => backends.push(b), onEpoch: (m) => epochs.push(m) });
    expect(backends).toEqual([{ backend: 'cpu', failures: [] }]);
    expect(epochs.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(epochs[0]).toMatchObject({ trainRecall: [expect.any(Number), expect.any(Number)], valRecall: [expect.any(Number), expect.any(Number)] });
    expect(out.state).toBe('done');
    expect(out.result).toMatchObject({ kind: 'learned', recallAtK: [expect.any(Number), expect.any(Number)] });
    expect(j.train.chunks[0].experts.length).toBe(0); // transferred, not copied
    // What the model costs, measured in the worker after scoring (scoring again gives the same numbers).
    expect(out.cost).toMatchObject({ device: 'cpu', backend: 'cpu', batches: 5, layer: null });
    expect(out.cost!.parameters).toBeGreaterThan(0);
    expect(out.cost!.inferenceMsPerToken).toBeGreaterThan(0);
    await expect(client.results()).resolves.toEqual(out.result);
    // The page's Export model: the files PyTorch loads, with the cost measured above.
    const files = await client.exportFiles!();
    expect(Object.keys(files).sort()).toEqual(['interlayer.cases.json', 'interlayer.json', 'interlayer.safetensors']);
    const d = JSON.parse(new TextDecoder().decode(files['interlayer.json']));
    expect(d).toMatchObject({
      model: 'interlayer',
      parameters: out.cost!.parameters,
      bytes: out.cost!.bytes,
      cost: { inferenceMsPerToken: out.cost!.inferenceMsPerToken },
    });
    const dir = mkdtempSync(join(tmpdir(), 'speclab-service-export-'));
    for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
    const check = JSON.parse(
      (await promisify(execFile)('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, 'interlayer.json')])).stdout,
    );
    expect(check.sameTopK).toBe(true);
    expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
  }, 60_000);

  it('stops on request and resumes to the end', async () => {
    let stopped = false;
    const first = await client.start(job(), {
      onProgress: () => {
        if (!stopped) {
          stopped = true;
          void client.stop();
        }
      },
    });
    expect(first.state).toBe('stopped');
    expect(first.result).toBeNull();
    expect(first.cost).toBeNull();
    await expect(client.exportFiles!()).rejects.toThrow('no trained model to export');
    const rest = await client.resume({});
    expect(rest.state).toBe('done');
    expect(rest.summary.epochsRun).toBe(3);
    expect(rest.summary.step).toBe(rest.summary.totalSteps);
  });

  it('rejects a bad config before training', async () => {
    await expect(client.start({ ...job(), config: { lr: -1 } }, {}, { transfer: false })).rejects.toThrow('lr');
  });
});
