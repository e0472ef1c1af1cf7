/**
 * AdamW (Adam with decoupled weight decay, Loshchilov & Hutter) with global-norm gradient clipping, all on the
 * device: no value comes back to the CPU during a step. Written out instead of tf.train.adam because the
 * learning rate changes every step (cosine schedule) and the decay must skip biases and embeddings.
 * Same update as PyTorch's torch.optim.AdamW: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε).
 */
import * as tf from '@tensorflow/tfjs';
import { ownedVariable } from './interLayerModel';

export interface AdamWOptions {
  weightDecay: number;
  /** Global-norm clip; 0 = off. */
  clipNorm: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

interface Slot {
  param: tf.Variable;
  decay: boolean;
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  private readonly slots: Slot[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  /** Updates applied so far (Adam's t). */
  iterations = 0;

  constructor(
    params: { variable: tf.Variable; decay: boolean }[],
    private readonly opts: AdamWOptions,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.slots = params.map((p) => ({
      param: p.variable,
      decay: p.decay,
      m: ownedVariable(tf.zerosLike(p.variable), false),
      v: ownedVariable(tf.zerosLike(p.variable), false),
    }));
  }

  /** Applies one update with learning rate `lr`; `grads` in the order of the params given to the constructor. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.iterations++;
    const t = this.iterations;
    const { beta1: b1, beta2: b2, epsilon } = this;
    tf.tidy(() => {
      let gs = grads;
      if (this.opts.clipNorm > 0) {
        // Scale every gradient by min(1, clip / ‖g‖) with ‖g‖ over all of them together.
        const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(this.opts.clipNorm), tf.add(norm, tf.scalar(1e-6))));
        gs = gs.map((g) => tf.mul(g, scale));
      }
      // Bias corrections fold into the step size: lr·√(1−β2ᵗ)/(1−β1ᵗ), computed here in float64.
      const stepSize = tf.scalar((lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t));
      const epsHat = tf.scalar(epsilon * Math.sqrt(1 - b2 ** t));
      const decay = tf.scalar(1 - lr * this.opts.weightDecay);
      this.slots.forEach((s, i) => {
        const g = gs[i];
        const m = tf.add(tf.mul(s.m, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.square(g), 1 - b2));
        s.m.assign(m);
        s.v.assign(v);
        const base = s.decay && this.opts.weightDecay > 0 ? tf.mul(s.param, decay) : s.param;
        s.param.assign(tf.sub(base, tf.mul(stepSize, tf.div(m, tf.add(tf.sqrt(v), epsHat)))));
      });
    });
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}

/** Cosine annealing from `lr` at step 0 to 0 at `total` steps (SGDR without restarts). */
export function cosineLr(lr: number, step: number, total: number): number {
  return total <= 0 ? lr : 0.5 * lr * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}
