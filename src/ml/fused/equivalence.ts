/**
 * Checks the fused WGSL training step against the tfjs implementation on the same WebGPU backend:
 *  - gradients of one batch (a full one and a ragged last one) against tf.variableGrads of the model's loss;
 *  - weights, loss and recall after whole epochs of TrainingSession with the fused path on and off
 *    (AdamW, cosine schedule, clipping; dropout off, since the two paths draw different masks).
 * Returns the largest relative errors; the caller decides the tolerance. Needs the webgpu backend active.
 */
import * as tf from '@tensorflow/tfjs';
import type { TraceSet } from '../../core/trace/types';
import { bceWithLogits, InterLayerModel, multiHot, type ModelShape } from '../interLayerModel';
import { layerChainTrace } from '../testTrace';
import { TrainingSession } from '../trainingSession';
import { buildWindows } from '../windows';
import { activeWebGpuBackend, FusedInterLayerTrainer } from './fusedTrainer';

/** ‖a − b‖ / ‖b‖ (0 when both are 0). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  if (a.length !== b.length || Number.isNaN(num)) return Infinity;
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export interface GradientCheck {
  case: string;
  /** Relative error per parameter. */
  errors: Record<string, number>;
  /** A tfjs kernel recorded but not yet submitted when the fused step took over still gave its result. */
  tfjsWorkKept: boolean;
}

export interface EquivalenceReport {
  /** The first WebGPU validation error raised during the whole check (tfjs's work included), or null. */
  validationError: string | null;
  gradients: GradientCheck[];
  /**
   * Fused runs stopped mid-epoch (weights written back to the model, then read in again on resume) against an
   * uninterrupted fused run: relative error of each weight, and the steps each took.
   */
  resume?: { weights: Record<string, number>; steps: number; stoppedAt: number };
  /** After training with both paths: relative error of each weight, and of the loss and recall history. */
  training: { case: string; weights: Record<string, number>; trainLoss: number; trainRecall: number; valLoss: number; steps: number }[];
}

function trace(seed: number): TraceSet {
  return layerChainTrace({ tokens: 24, numLayers: 7, numExperts: 6, topK: 2, seqLen: 8, seed });
}

async function gradientCase(
  name: string,
  set: TraceSet,
  shape: Omit<ModelShape, 'numLayers' | 'numExperts' | 'topK'>,
  batchSize: number,
  size: number,
): Promise<GradientCheck> {
  const backend = activeWebGpuBackend();
  if (!backend) throw new Error('the fused equivalence check needs the webgpu backend');
  const { numLayers, numExperts, topK } = set.manifest;
  const full: ModelShape = { numLayers, numExperts, topK, ...shape };
  const w = buildWindows(set, { context: shape.context, horizon: shape.horizon });
  const n = w.count;
  const { context: C, horizon: H } = shape;
  const win = {
    n,
    ctxExperts: tf.tensor2d(Float32Array.from(w.ctxExperts), [n, C * topK]),
    ctxLayers: tf.tensor2d(Float32Array.from(w.ctxLayers), [n, C]),
    targetLayers: tf.tensor2d(Float32Array.from(w.targetLayers), [n, H]),
    targets: tf.tensor2d(Float32Array.from(w.targets), [n, H * topK]),
  };
  const model = new InterLayerModel(full, 11);
  // A shuffled order and a batch that starts mid-way, so the gather and the ragged-batch masking are exercised.
  const perm = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % n);
  const start = 5;
  const fused = new FusedInterLayerTrainer(backend, full, win, { batchSize, weightDecay: 0.01, clipNorm: 1, dropout: 0 });
  try {
    const err = await fused.ready;
    if (err) throw new Error(err);
    // tfjs records kernels into an open compute pass and submits later: the fused work must queue after them.
    const big = model.params.find((p) => p.name === 'lstmRecurrent')!.variable; // large enough to run on the GPU
    const pending = tf.mul(big, 2);
    fused.loadParams(model);
    fused.beginEpoch(perm);
    fused.step(start, size, 0, 1); // lr 0: the weights stay, the gradients are those of the model's weights
    const got = await fused.readGradients();
    const idx = tf.tensor1d(perm.slice(start, start + size), 'int32');
    const batch = { ctxExperts: tf.gather(win.ctxExperts, idx), ctxLayers: tf.gather(win.ctxLayers, idx), targetLayers: tf.gather(win.targetLayers, idx) };
    const labels = multiHot(tf.gather(win.targets, idx), H, numExperts);
    const { grads, value } = tf.variableGrads(() => bceWithLogits(model.forward(batch, null), labels), model.variables);
    const doubled = (await pending.data()) as Float32Array;
    const w0 = (await big.data()) as Float32Array;
    const tfjsWorkKept = doubled.length === w0.length && w0.every((x, i) => doubled[i] === 2 * x);
    pending.dispose();
    const errors: Record<string, number> = {};
    for (const p of model.params) errors[p.name] = relError(got[p.name], (await grads[p.variable.name].data()) as Float32Array);
    tf.dispose([idx, batch.ctxExperts, batch.ctxLayers, batch.targetLayers, labels, value, ...Object.values(grads)]);
    return { case: name, errors, tfjsWorkKept };
  } finally {
    fused.dispose();
    model.dispose();
    tf.dispose([win.ctxExperts, win.ctxLayers, win.targetLayers, win.targets]);
  }
}

async function trainingCase(name: string, set: TraceSet, cfg: Record<string, unknown>) {
  const run = async (fusedTraining: boolean) => {
    const s = new TrainingSession(set, { ...cfg, dropout: 0, fusedTraining });
    if (s.trainingPath !== (fusedTraining ? 'fused' : 'tfjs')) throw new Error(`expected the ${fusedTraining ? 'fused' : 'tfjs'} path`);
    const summary = await s.run();
    if (s.fusedFallback) throw new Error(s.fusedFallback);
    const weights = await s.model.readWeights();
    s.dispose();
    return { summary, weights };
  };
  const a = await run(true);
  const b = await run(false);
  const weights: Record<string, number> = {};
  for (const k of Object.keys(b.weights)) weights[k] = relError(a.weights[k], b.weights[k]);
  const ha = a.summary.history;
  const hb = b.summary.history;
  return {
    case: name,
    weights,
    trainLoss: relError(
      ha.map((m) => m.trainLoss),
      hb.map((m) => m.trainLoss),
    ),
    trainRecall: relError(
      ha.flatMap((m) => m.trainRecall),
      hb.flatMap((m) => m.trainRecall),
    ),
    valLoss: relError(
      ha.map((m) => m.valLoss ?? 0),
      hb.map((m) => m.valLoss ?? 0),
    ),
    steps: a.summary.step,
  };
}

/**
 * `quick` checks one shape (layer-specific heads; a full and a ragged batch; two epochs of training), which keeps
 * the shader compiles few on a software adapter; the full check adds shared heads, a one-step context and tiles
 * that the shapes do not fill evenly.
 */
async function resumeCase(set: TraceSet, cfg: Record<string, unknown>): Promise<NonNullable<EquivalenceReport['resume']>> {
  const full = new TrainingSession(set, { ...cfg, fusedTraining: true });
  await full.run();
  const want = await full.model.readWeights();
  full.dispose();
  const s = new TrainingSession(set, { ...cfg, fusedTraining: true }, { syncEvery: 1 });
  let stoppedAt = -1;
  // Stop twice: once inside the first epoch, once inside the second.
  const stopAt = [2, s.stepsPerEpoch + 1];
  let runs = 0;
  while (s.state !== 'done' && runs++ < 5) {
    await s.run({
      onProgress: (p) => {
        if (stopAt.includes(p.step)) {
          stopAt.splice(stopAt.indexOf(p.step), 1);
          stoppedAt = p.step;
          s.stop();
        }
      },
    });
  }
  if (s.fusedFallback) throw new Error(s.fusedFallback);
  const got = await s.model.readWeights();
  const weights: Record<string, number> = {};
  for (const k of Object.keys(want)) weights[k] = relError(got[k], want[k]);
  const steps = s.step;
  s.dispose();
  return { weights, steps, stoppedAt };
}

export async function fusedEquivalence(opts: { quick?: boolean } = {}): Promise<EquivalenceReport> {
  const backend = activeWebGpuBackend();
  if (!backend) throw new Error('the fused equivalence check needs the webgpu backend');
  backend.device.pushErrorScope('validation');
  const report = await cases(opts);
  const err = (await backend.device.popErrorScope()) as { message: string } | null;
  return { validationError: err ? err.message : null, ...report };
}

async function cases(opts: { quick?: boolean }): Promise<Omit<EquivalenceReport, 'validationError'>> {
  const set = trace(3);
  const small = { context: 3, horizon: 2, embeddingDim: 12, hiddenUnits: 20 };
  // Training uses the gradient cases' shape and batch, so the same pipelines serve both.
  const base = { epochs: 2, batchSize: 16, ...small, lr: 3e-3, clipNorm: 0.5, weightDecay: 0.05, valFraction: 0.25, seed: 5 };
  if (opts.quick) {
    return {
      gradients: [
        await gradientCase('layer-specific heads, full batch', set, { ...small, layerSpecificHeads: true }, 16, 16),
        await gradientCase('layer-specific heads, ragged batch', set, { ...small, layerSpecificHeads: true }, 16, 9),
      ],
      training: [await trainingCase('layer-specific heads, clipped', set, { ...base, layerSpecificHeads: true })],
      resume: await resumeCase(set, { ...base, layerSpecificHeads: true, dropout: 0.2 }),
    };
  }
  const gradients = [
    await gradientCase('shared heads, full batch', set, { ...small, layerSpecificHeads: false }, 16, 16),
    await gradientCase('layer-specific heads, ragged batch', set, { ...small, layerSpecificHeads: true }, 16, 9),
    await gradientCase('context 1, wide', set, { context: 1, horizon: 1, embeddingDim: 70, hiddenUnits: 68, layerSpecificHeads: false }, 24, 24),
  ];
  const training = [
    await trainingCase('shared heads, clipped', set, base),
    await trainingCase('layer-specific heads, constant lr', set, { ...base, layerSpecificHeads: true, lrSchedule: 'constant', clipNorm: 0 }),
  ];
  const resume = await resumeCase(set, { ...base, dropout: 0.2 });
  return { gradients, training, resume };
}
