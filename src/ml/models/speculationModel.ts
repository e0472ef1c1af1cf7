/**
 * What the training loop (trainingSession.ts) needs of a model, and the pieces the models in this folder share:
 * seeded parameters, an embedding lookup whose gradient every backend has, dense layers, and the
 * dynamic-context mask. Each model is one small file beside this one.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/experiment/rng';
import { ownedVariable, type BatchTensors, type DropoutSpec, type ModelShape } from '../interLayerModel';

export interface Param {
  name: string;
  variable: tf.Variable;
  /** Weight matrices take decoupled weight decay; biases and embeddings do not. */
  decay: boolean;
}

export interface SpeculationModel {
  readonly shape: ModelShape;
  readonly params: Param[];
  readonly variables: tf.Variable[];
  /** Logits [B, H, E]; `dropout` is non-null exactly when training. */
  forward(b: BatchTensors, dropout: DropoutSpec | null): tf.Tensor3D;
  readWeights(): Promise<Record<string, Float32Array>>;
  dispose(): void;
}

/** Builds a model for a trace's shape and a seed (the session's); the rest comes from the factory's closure. */
export type ModelFactory = (shape: ModelShape, seed: number) => SpeculationModel;

/** Seeded parameters, identical on every backend. */
export class Params {
  readonly list: Param[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = createRng(seed);
  }

  private make(name: string, values: Float32Array, dims: number[], decay: boolean): tf.Variable {
    const variable = ownedVariable(tf.tensor(values, dims, 'float32'), true);
    this.list.push({ name, variable, decay });
    return variable;
  }

  private uniform(n: number, limit: number): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (this.rnd() * 2 - 1) * limit;
    return a;
  }

  /** A weight matrix [fanIn, fanOut], glorot-uniform, decayed. */
  dense(name: string, fanIn: number, fanOut: number): tf.Variable {
    return this.make(name, this.uniform(fanIn * fanOut, Math.sqrt(6 / (fanIn + fanOut))), [fanIn, fanOut], true);
  }

  /** An embedding table [rows, d], uniform with unit variance (as InterLayer's), not decayed. */
  embedding(name: string, rows: number, d: number, scale = 1): tf.Variable {
    return this.make(name, this.uniform(rows * d, Math.sqrt(3) * scale), [rows, d], false);
  }

  /** A vector or table filled with `value`, not decayed. */
  filled(name: string, dims: number[], value = 0): tf.Variable {
    return this.make(name, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value), dims, false);
  }

  get variables(): tf.Variable[] {
    return this.list.map((p) => p.variable);
  }

  async read(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const p of this.list) out[p.name] = (await p.variable.data()) as Float32Array;
    return out;
  }

  dispose(): void {
    for (const p of this.list) p.variable.dispose();
  }
}

/**
 * Rows of `table` [V, d] at int32 `ids` (any shape) → [...ids.shape, d]. tf.gather's own gradient needs
 * UnsortedSegmentSum, which the WASM backend lacks; this one scatters (summing repeated ids) with ScatterNd,
 * which every backend has.
 */
export function lookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const [V, d] = table.shape as [number, number];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, i, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const flat = i.reshape([-1]);
    save([flat]);
    return {
      value: tf.gather(t as tf.Tensor, flat).reshape([...(i as tf.Tensor).shape, d]),
      gradFunc: (dy, saved) => [tf.scatterND(saved[0].expandDims(1), (dy as tf.Tensor).reshape([-1, d]), [V, d]), tf.zerosLike(saved[0])],
    };
  });
  return f(table, ids);
}

/** x [N, a] · W [a, b] + bias [b]. */
export function affine(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  return (b ? tf.add(y, b) : y) as tf.Tensor2D;
}

/**
 * Dynamic context length: while training, each window keeps its last `len` context layers, `len` drawn
 * uniformly from 1..C (seeded by the step); [B, C] float mask, 1 = kept. Null when not training or C = 1.
 */
export function contextMask(batch: number, context: number, dynamic: boolean, dropout: DropoutSpec | null): tf.Tensor2D | null {
  if (!dynamic || !dropout || context < 2) return null;
  return tf.tidy(() => {
    const len = tf.floor(tf.add(tf.mul(tf.randomUniform([batch, 1], 0, 1, 'float32', dropout.seed + 7), context), 1)); // 1..C
    const s = tf.range(0, context, 1, 'float32').expandDims(0); // [1, C]
    // Step s is kept when s ≥ C − len.
    return tf.step(tf.add(tf.sub(s, context), tf.add(len, 0.5))) as tf.Tensor2D;
  });
}

/** Mean over the K experts of each group: [B, G*K] ids → [B, G, d]. */
export function meanOfK(table: tf.Tensor, ids: tf.Tensor2D, groups: number, k: number): tf.Tensor3D {
  const [B] = ids.shape;
  const d = table.shape[1] as number;
  return tf.mean(lookup(table, ids).reshape([B, groups, k, d]), 2) as tf.Tensor3D;
}

export const maybeDropout = (x: tf.Tensor, dropout: DropoutSpec | null, salt: number): tf.Tensor =>
  dropout && dropout.rate > 0 ? tf.dropout(x, dropout.rate, undefined, dropout.seed + salt) : x;
