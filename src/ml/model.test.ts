import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticTrace } from '../core/trace/synthetic';
import { AdamW, cosineLr } from './adamw';
import { initBackend } from './backend';
import { bceWithLogits, InterLayerModel, multiHot, recallHits, type ModelShape } from './interLayerModel';
import { buildWindows, validationSplit } from './windows';

const shape: ModelShape = { numLayers: 5, numExperts: 6, topK: 2, context: 2, horizon: 2, embeddingDim: 4, hiddenUnits: 5, layerSpecificHeads: false };

function batchOf(n: number) {
  const set = syntheticTrace({ tokens: n, numLayers: 5, numExperts: 6, topK: 2, seed: 4 });
  const w = buildWindows(set, { context: 2, horizon: 2 });
  return {
    w,
    b: {
      ctxExperts: tf.tensor2d(w.ctxExperts, [w.count, 4], 'int32'),
      ctxLayers: tf.tensor2d(w.ctxLayers, [w.count, 2], 'int32'),
      targetLayers: tf.tensor2d(w.targetLayers, [w.count, 2], 'int32'),
    },
  };
}

beforeAll(async () => {
  await initBackend(['cpu']);
});

describe('windows', () => {
  it('takes each token at every last-context layer C-1..L-1-H, in the order evaluate() scores them', () => {
    const set = syntheticTrace({ tokens: 3, numLayers: 5, numExperts: 6, topK: 2, seed: 4 });
    const ex = set.chunks[0].experts;
    const w = buildWindows(set, { context: 2, horizon: 2 });
    expect(w.count).toBe(3 * 2); // l = 1, 2
    // Window 1: token 0, l = 2: context layers 1..2, targets at 3 and 4.
    expect(Array.from(w.ctxExperts.subarray(4, 8))).toEqual(Array.from(ex.subarray(2, 6)));
    expect(Array.from(w.ctxLayers.subarray(2, 4))).toEqual([1, 2]);
    expect(Array.from(w.targetLayers.subarray(2, 4))).toEqual([3, 4]);
    expect(Array.from(w.targets.subarray(4, 8))).toEqual(Array.from(ex.subarray(6, 10)));
  });

  it('holds out whole sequences for validation, or the tail of a single sequence', () => {
    const set = syntheticTrace({ tokens: 100, numLayers: 4, numExperts: 4, topK: 1, seqLen: 10, seed: 1 });
    const s = validationSplit(set, 0.2, 0);
    expect(s.how).toBe('sequence');
    expect(s.valTokens).toBe(20);
    const seqs = new Set<number>();
    for (let t = 0; t < 100; t++) if (s.val!(0, t)) seqs.add(set.chunks[0].seq[t]);
    expect(seqs.size).toBe(2);
    for (let t = 0; t < 100; t++) expect(s.val!(0, t)).toBe(!s.train(0, t));
    const one = syntheticTrace({ tokens: 50, numLayers: 4, numExperts: 4, topK: 1, seqLen: 50, seed: 1 });
    const tail = validationSplit(one, 0.1, 0);
    expect(tail.how).toBe('tail');
    expect([tail.val!(0, 44), tail.val!(0, 45)]).toEqual([false, true]);
    expect(validationSplit(one, 0, 0).how).toBe('none');
  });
});

describe('InterLayer model', () => {
  it('gives logits [B, H, E] with shared and with layer-specific heads', () => {
    const { w, b } = batchOf(4);
    for (const layerSpecificHeads of [false, true]) {
      const m = new InterLayerModel({ ...shape, layerSpecificHeads }, 1);
      const y = m.forward(b, { rate: 0.1, seed: 3 });
      expect(y.shape).toEqual([w.count, 2, 6]);
      expect(m.params.find((p) => p.name === 'headKernel')!.variable.shape).toEqual([5, 2 * (layerSpecificHeads ? 5 : 1) * 6]);
      y.dispose();
      m.dispose();
    }
  });

  it('initialises from the seed alone', async () => {
    const a = await new InterLayerModel(shape, 7).readWeights();
    const b = await new InterLayerModel(shape, 7).readWeights();
    const c = await new InterLayerModel(shape, 8).readWeights();
    expect(a).toEqual(b);
    expect(a.lstmKernel).not.toEqual(c.lstmKernel);
  });

  it('computes the multi-hot BCE loss and recall@k as defined', () => {
    const labels = multiHot(tf.tensor2d([[0, 2]], [1, 2], 'int32'), 1, 3); // truth {0, 2}
    expect(Array.from(labels.dataSync())).toEqual([1, 0, 1]);
    const logits = tf.tensor3d([[[2, 1, -1]]]); // top-2 = {0, 1}: one of two right
    expect(recallHits(logits, labels, 2).dataSync()[0]).toBeCloseTo(0.5);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const want = -(Math.log(sig(2)) + Math.log(1 - sig(1)) + Math.log(sig(-1))) / 3;
    expect(bceWithLogits(logits, labels).dataSync()[0]).toBeCloseTo(want, 5);
  });

  it('gives the same logits on the CPU and WASM backends', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await initBackend([backend]);
      const m = new InterLayerModel({ ...shape, layerSpecificHeads: true }, 2);
      const y = m.forward(batchOf(3).b, null);
      const v = await y.data();
      tf.dispose(y);
      m.dispose();
      return Array.from(v);
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    await initBackend(['cpu']);
    expect(cpu.some((x) => Math.abs(x) > 1e-3)).toBe(true);
    wasm.forEach((x, i) => expect(x).toBeCloseTo(cpu[i], 5));
  });
});

describe('AdamW and the schedule', () => {
  it('takes PyTorch AdamW’s first step: decay then lr·sign(g)', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const bias = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW(
      [
        { variable: w, decay: true },
        { variable: bias, decay: false },
      ],
      { weightDecay: 0.1, clipNorm: 0 },
    );
    opt.apply([tf.tensor1d([0.5, -3]), tf.tensor1d([0.5, -3])], 0.01);
    const got = Array.from(w.dataSync());
    expect(got[0]).toBeCloseTo(1 * (1 - 0.001) - 0.01, 6);
    expect(got[1]).toBeCloseTo(-2 * (1 - 0.001) + 0.01, 6);
    expect(Array.from(bias.dataSync())[0]).toBeCloseTo(1 - 0.01, 6);
  });

  it('clips by the global norm', () => {
    // With clipping, m and v see g·c/‖g‖; Adam's first step is sign-like either way, so check the second moment.
    const w = tf.variable(tf.tensor1d([0, 0]));
    const opt = new AdamW([{ variable: w, decay: false }], { weightDecay: 0, clipNorm: 1 });
    opt.apply([tf.tensor1d([3, 4])], 0.1); // ‖g‖ = 5 → g' = [0.6, 0.8]
    opt.apply([tf.tensor1d([0, 0])], 0.1);
    // Step 2: m̂ = 0.9·m/(1-0.81), v̂ = 0.999·v/(1-0.999²); with m = 0.1·g', v = 0.001·g'².
    const g = [0.6, 0.8];
    const expected = g.map((x) => {
      const s1 = -0.1 * Math.sign(x);
      const m = 0.9 * 0.1 * x;
      const v = 0.999 * 0.001 * x * x;
      return s1 - (0.1 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    });
    Array.from(w.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(expected[i], 4));
  });

  it('anneals the learning rate from lr to 0', () => {
    expect(cosineLr(0.1, 0, 100)).toBeCloseTo(0.1);
    expect(cosineLr(0.1, 50, 100)).toBeCloseTo(0.05);
    expect(cosineLr(0.1, 100, 100)).toBeCloseTo(0);
  });
});
