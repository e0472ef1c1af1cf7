import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { frequencyPredictor, markovPredictor } from '../core/predictors/baselines';
import { splitBySequence } from '../core/tasks/task';
import { initBackend } from './backend';
import type { InterLayerConfigInput } from './config';
import { evaluatePredictors } from './evaluatePredictors';
import { interLayerPredictor } from './learnedPredictor';
import { layerChainTrace } from './testTrace';
import { TrainingSession, type EpochMetrics } from './trainingSession';

// Tiny sizes: the CPU backend on a shared 2-core machine.
const small: InterLayerConfigInput = { context: 2, horizon: 1, batchSize: 32, embeddingDim: 8, hiddenUnits: 16, lr: 0.01, dropout: 0.1, epochs: 2, seed: 3 };
const chain = layerChainTrace({ tokens: 200, numLayers: 5, numExperts: 6, topK: 2, seqLen: 20, seed: 2 });

beforeAll(async () => {
  expect((await initBackend(['cpu'])).backend).toBe('cpu');
});

describe('training', () => {
  it('lowers the loss and beats the frequency baseline on a trace with inter-layer structure', async () => {
    const set = layerChainTrace({ tokens: 600, numLayers: 6, numExperts: 8, topK: 2, seqLen: 50, seed: 1 });
    const { train, test } = splitBySequence(set, 0.25, 0);
    const task = { context: 2, horizon: 2 };
    const epochs: EpochMetrics[] = [];
    const learned = interLayerPredictor(set.manifest, {
      config: { ...small, epochs: 12, hiddenUnits: 32, lr: 0.03, earlyStoppingPatience: 0 },
      hooks: { onEpoch: (m) => epochs.push(m) },
    });
    const r = await evaluatePredictors([frequencyPredictor(set.manifest, 0), markovPredictor(set.manifest, 0), learned], train, test, task);
    expect(epochs).toHaveLength(12);
    expect(epochs[11].trainLoss).toBeLessThan(epochs[0].trainLoss * 0.9);
    expect(epochs[11].valLoss!).toBeLessThan(epochs[0].valLoss!);
    expect(r.interlayer.kind).toBe('learned');
    expect(r.interlayer.samples).toBe(r.frequency.samples);
    // Frequency is near chance here (0.25); the first choice follows the previous layer's 80% of the time.
    for (let h = 0; h < 2; h++) expect(r.interlayer.recallAtK[h]).toBeGreaterThan(r.frequency.recallAtK[h] + 0.1);
    learned.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('scores through the Predictor interface exactly as its own device-side metric does', async () => {
    const { train, test } = splitBySequence(chain, 0.3, 1);
    const p = interLayerPredictor(chain.manifest, { config: { ...small, epochs: 1 } });
    const task = { context: 2, horizon: 1 };
    const r = await evaluatePredictors([p], train, test, task);
    // The session's own recall@k on the same windows (top-k of the logits on the device).
    const { buildWindows } = await import('./windows');
    const w = buildWindows(test, task);
    const d = {
      n: w.count,
      ctxExperts: tf.tensor2d(w.ctxExperts, [w.count, 4], 'int32'),
      ctxLayers: tf.tensor2d(w.ctxLayers, [w.count, 2], 'int32'),
      targetLayers: tf.tensor2d(w.targetLayers, [w.count, 1], 'int32'),
      targets: tf.tensor2d(w.targets, [w.count, 2], 'int32'),
    };
    const own = await (p.session as TrainingSession).evaluate(d);
    tf.dispose([d.ctxExperts, d.ctxLayers, d.targetLayers, d.targets]);
    expect(r.interlayer.recallAtK[0]).toBeCloseTo(own.recall[0], 6);
    p.dispose();
  });

  it('is deterministic: same seed and backend, same metrics and weights', async () => {
    const once = async (seed: number) => {
      const s = new TrainingSession(chain, { ...small, seed });
      const sum = await s.run();
      const w = await s.model.readWeights();
      s.dispose();
      return { history: sum.history.map(({ seconds: _s, samplesPerSecond: _p, ...m }) => m), w };
    };
    const a = await once(3);
    const b = await once(3);
    const c = await once(4);
    expect(b.history).toEqual(a.history);
    expect(b.w).toEqual(a.w);
    expect(c.history).not.toEqual(a.history);
  });

  it('stops mid-epoch and resumes to the same weights as an uninterrupted run', async () => {
    const cfg = { ...small, epochs: 2 };
    const straight = new TrainingSession(chain, cfg, { syncEvery: 2 });
    await straight.run();
    const want = await straight.model.readWeights();
    const wantHistory = straight.history.map((m) => [m.trainLoss, m.valLoss]);
    straight.dispose();

    const s = new TrainingSession(chain, cfg, { syncEvery: 2 });
    let stops = 0;
    const hooks = {
      onProgress: () => {
        if (stops < 3) {
          stops++;
          s.stop();
        }
      },
    };
    let sum = await s.run(hooks);
    expect(sum.state).toBe('stopped');
    expect(sum.step).toBe(2);
    while (sum.state === 'stopped') sum = await s.run(hooks);
    expect(stops).toBe(3);
    expect(sum).toMatchObject({ state: 'done', doneReason: 'epochs', epochsRun: 2, step: s.totalSteps });
    expect(s.history.map((m) => [m.trainLoss, m.valLoss])).toEqual(wantHistory);
    expect(await s.model.readWeights()).toEqual(want);
    s.dispose();
  });

  it('stops early when validation stops improving and keeps the best weights', async () => {
    // A learning rate far too high makes validation loss climb after the first epochs.
    const s = new TrainingSession(chain, { ...small, lr: 0.5, clipNorm: 0, epochs: 8, earlyStoppingPatience: 1, valFraction: 0.3 });
    const sum = await s.run();
    expect(sum.doneReason).toBe('early-stopping');
    expect(sum.epochsRun).toBeLessThan(8);
    const losses = sum.history.map((m) => m.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(sum.bestEpoch).toBe(best);
    expect(sum.epochsRun).toBe(best + 1);
    s.dispose();
  });
});
