// Adding a model is its file and its registry entry: a throwaway model, written here and registered at run time,
// trains, is scored, and is reported in eval's results (training, residual blend, choice on validation, cost,
// export) through the same code as the built-in models, with nothing else changed.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { markovPredictor } from '../../core/predictors/baselines';
import { splitBySequence } from '../../core/tasks/task';
import { importFiles } from '../../core/trace/importers';
import { REAL } from '../../core/trace/importers/test-helpers';
import { describeLearned, makeLearnedPredictor } from '../cliLearned';
import { evaluatePredictors } from '../evaluatePredictors';
import type { BatchTensors, ModelShape } from '../interLayerModel';
import { padId } from './features';
import { modelDef, MODEL_DEFS, registerModel } from './registry';
import { affine, meanOfK, Params, type SpeculationModel } from './speculationModel';

/** The throwaway model: the mean of the context's layer-expert embeddings, one linear map to every step's logits. */
class ThrowawayModel implements SpeculationModel {
  private readonly p: Params;
  private readonly emb: tf.Variable;
  private readonly out: tf.Variable;
  private readonly bias: tf.Variable;
  constructor(
    readonly shape: ModelShape,
    seed: number,
  ) {
    const { numLayers: L, numExperts: E, horizon: H, embeddingDim: d } = shape;
    this.p = new Params(seed);
    this.emb = this.p.embedding('throwawayEmbedding', padId(L, E) + 1, d);
    this.out = this.p.dense('throwawayOut', d, H * E);
    this.bias = this.p.filled('throwawayBias', [H * E]);
  }
  get params() {
    return this.p.list;
  }
  get variables() {
    return this.p.variables;
  }
  forward(b: BatchTensors): tf.Tensor3D {
    const { numExperts: E, topK: K, context: C, horizon: H } = this.shape;
    return tf.tidy(() => {
      const ids = b.extra!.ctxIds;
      const x = tf.mean(meanOfK(this.emb, ids, C, K), 1); // [B, d]
      return affine(x, this.out, this.bias).reshape([ids.shape[0], H, E]) as tf.Tensor3D;
    });
  }
  readWeights() {
    return this.p.read();
  }
  dispose() {
    this.p.dispose();
  }
}

describe('a model added through the registry alone', () => {
  it("trains, is scored and is reported in eval's results like the built-in models", async () => {
    registerModel('throwaway', { prepare: () => ({ factory: (shape, seed) => new ThrowawayModel(shape, seed), features: { history: 0 } }) });
    expect(modelDef('throwaway')).toBeDefined();
    expect(() => registerModel('joint', MODEL_DEFS.joint)).toThrow('already registered');

    const set = importFiles([{ name: 'gsm8k_2_routing.jsonl', data: readFileSync(`${REAL}mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl`) }], 'jsonl').set;
    const { train, test } = splitBySequence(set, 0.5, 0);
    const task = { context: 3, horizon: 2 };
    const values = { epochs: '3', backend: 'cpu', 'model-config': JSON.stringify({ embeddingDim: 8, lr: 0.01 }) };
    const lines: string[] = [];
    const log = (l: string) => void lines.push(l);
    // What `speclab eval --predictor markov,throwaway --json` runs, in process.
    const learned = await makeLearnedPredictor('throwaway', train.manifest, 0, values, log);
    const predictors = [markovPredictor(train.manifest, 0), learned];
    const results = (await evaluatePredictors(predictors, train, test, task)) as unknown as Record<string, Record<string, unknown>>;
    await describeLearned(predictors, results, train, test, task, values, 0, log);

    const r = results.throwaway as {
      kind: string;
      recallAtK: number[];
      training: object;
      blend: { steps: unknown[] };
      modelAloneRecallAtK: number[];
      validationRecallAtK: number[];
      cost: { inferenceMsPerToken: number };
    };
    expect(r.kind).toBe('learned');
    expect(r.recallAtK).toHaveLength(2);
    expect(r.training).toMatchObject({ epochs: 3, path: 'tfjs', backend: expect.stringContaining('cpu') });
    expect(r.blend.steps).toHaveLength(2);
    expect(r.modelAloneRecallAtK).toHaveLength(2);
    expect(r.validationRecallAtK).toHaveLength(2);
    // Trained: the model alone is above chance (K/E = 2/8) on the held-out problem.
    for (const x of r.modelAloneRecallAtK) expect(x).toBeGreaterThan(0.25);
    // Its cost: (L*E + 1) x 8 embedding, 8 x 2E head and bias.
    const { numLayers: L, numExperts: E } = train.manifest;
    expect(r.cost).toMatchObject({ parameters: (L * E + 1) * 8 + 8 * 2 * E + 2 * E, device: 'cpu', backend: 'cpu' });
    expect(r.cost.inferenceMsPerToken).toBeGreaterThan(0);
    expect(lines.join('')).toMatch(/throwaway: residual baselines chosen on \d+ validation windows/);
    // And its export, from the registry entry's tensors.
    const m = await (learned as unknown as { exportModel(): Promise<{ model: string; tensors: Record<string, unknown> }> }).exportModel();
    expect(m.model).toBe('throwaway');
    expect(Object.keys(m.tensors).sort()).toEqual(['throwawayBias', 'throwawayEmbedding', 'throwawayOut']);
  }, 120_000);
});
