/**
 * The reference design's InterLayer speculation model, in plain tfjs ops:
 *   each context layer's K experts → mean of their embeddings + that layer's position embedding
 *   → an LSTM over the C context layers → a linear head per horizon step over the E experts (logits; multi-label).
 * One model serves every layer: the layer-position embedding tells it where in the network it is, and optional
 * layer-specific heads give each target layer its own output weights.
 *
 * Own variables instead of tf.layers: the weights are initialised from SpecLab's seeded RNG (identical on every
 * backend, and no minutes-long orthogonal init on CPU), and training needs nothing from the Layers API.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../core/experiment/rng';

export interface ModelShape {
  numLayers: number;
  numExperts: number;
  topK: number;
  context: number;
  horizon: number;
  embeddingDim: number;
  hiddenUnits: number;
  layerSpecificHeads: boolean;
}

/**
 * One batch of windows as tensors (see windows.ts for the layouts). Ids are float32 (exact below 2^24): on the
 * WebGPU backend of tfjs 4.22 an int32 → float32 cast only relabels the buffer, and kernels that copy values
 * (transpose, gather) then fail to compile. int32 ids are accepted and cast, which is right on CPU and WASM.
 */
export interface BatchTensors {
  /** [B, C*K] */
  ctxExperts: tf.Tensor2D;
  /** [B, C] */
  ctxLayers: tf.Tensor2D;
  /** [B, H] */
  targetLayers: tf.Tensor2D;
  /** Windows.extra (int32 [B, width] each), for models that take more than InterLayer does. */
  extra?: Record<string, tf.Tensor2D>;
}

const asFloat = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

export interface DropoutSpec {
  rate: number;
  /** Seed of this step's masks; derived from (run seed, step) so a resumed run draws the same masks. */
  seed: number;
}

interface Param {
  name: string;
  variable: tf.Variable;
  /** Weight matrices take decoupled weight decay; biases and embeddings do not (as in common AdamW setups). */
  decay: boolean;
}

export class InterLayerModel {
  readonly params: Param[];
  private readonly byName: Map<string, tf.Variable>;

  constructor(
    readonly shape: ModelShape,
    seed: number,
  ) {
    const { numLayers: L, numExperts: E, embeddingDim: d, hiddenUnits: u, horizon: H } = shape;
    const heads = H * (shape.layerSpecificHeads ? L : 1) * E;
    const rnd = createRng(seed);
    const uniform = (n: number, limit: number) => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = (rnd() * 2 - 1) * limit;
      return a;
    };
    const glorot = (fanIn: number, fanOut: number) => uniform(fanIn * fanOut, Math.sqrt(6 / (fanIn + fanOut)));
    // Forget-gate bias 1 (gate order i, f, g, o): the usual LSTM start that lets state through early on.
    const lstmBias = new Float32Array(4 * u);
    lstmBias.fill(1, u, 2 * u);
    const make = (name: string, values: Float32Array, dims: number[], decay: boolean): Param => ({
      name,
      variable: ownedVariable(tf.tensor(values, dims, 'float32'), true),
      decay,
    });
    this.params = [
      make('expertEmbedding', uniform(E * d, Math.sqrt(3)), [E, d], false),
      make('layerEmbedding', uniform(L * d, Math.sqrt(3)), [L, d], false),
      // Input and recurrent kernels, each glorot over one gate's block (recurrent: not orthogonal; see header).
      make('lstmKernel', glorot(d, u * 4), [d, 4 * u], true),
      make('lstmRecurrent', glorot(u, u * 4), [u, 4 * u], true),
      make('lstmBias', lstmBias, [4 * u], false),
      make('headKernel', glorot(u, heads), [u, heads], true),
      make('headBias', new Float32Array(heads), [heads], false),
    ];
    this.byName = new Map(this.params.map((p) => [p.name, p.variable]));
  }

  get variables(): tf.Variable[] {
    return this.params.map((p) => p.variable);
  }

  private v(name: string): tf.Variable {
    return this.byName.get(name)!;
  }

  /** Logits [B, H, E]. With `dropout`, drops embedded inputs and the final hidden state (training only). */
  forward(b: BatchTensors, dropout: DropoutSpec | null): tf.Tensor3D {
    const { numLayers: L, numExperts: E, topK: K, context: C, horizon: H, embeddingDim: d, hiddenUnits: u } = this.shape;
    return tf.tidy(() => {
      const B = b.ctxExperts.shape[0];
      // Rows are step-major (s*B + b) and the LSTM state is kept transposed ([units, B]), so every per-step slice
      // and the gate split are contiguous: strided slices are the slowest kernels of the CPU backend.
      const ids = tf.transpose(asFloat(b.ctxExperts).reshape([B, C, K]), [1, 0, 2]).reshape([-1]);
      // Embedding lookups as one-hot matmuls, not tf.gather: gather's gradient (UnsortedSegmentSum) is missing on
      // the WASM backend. A layer's K one-hots side by side against K stacked copies of the table sum the K
      // embeddings in the same matmul; dividing by K makes it their mean.
      const kHot = oneHotF(ids, E).reshape([C * B, K * E]);
      const experts = tf.div(tf.matMul(kHot, tf.tile(this.v('expertEmbedding'), [K, 1])), K);
      const layerIds = tf.transpose(asFloat(b.ctxLayers)).reshape([-1]);
      const layers = tf.matMul(oneHotF(layerIds, L), this.v('layerEmbedding'));
      let x: tf.Tensor = tf.add(experts, layers); // [C*B, d]
      const bias = this.v('lstmBias').reshape([4 * u, 1]);
      if (dropout && dropout.rate > 0) x = tf.dropout(x, dropout.rate, undefined, dropout.seed);
      // Input projections of all C steps in one batched matmul: [C, 4u, B]. The kernel is tiled, not broadcast:
      // tfjs 4.22 gets the gradient of a broadcast batch matmul wrong (shape mismatch).
      const kernel = tf.tile(this.v('lstmKernel').expandDims(0), [C, 1, 1]);
      const xw = tf.add(tf.matMul(kernel, x.reshape([C, B, d]), true, true), bias);
      const U = this.v('lstmRecurrent');
      let h: tf.Tensor2D = tf.zeros([u, B]);
      let c: tf.Tensor2D = tf.zeros([u, B]);
      for (let s = 0; s < C; s++) {
        const z = tf.add(xw.slice([s, 0, 0], [1, 4 * u, B]).reshape([4 * u, B]), tf.matMul(U, h, true));
        const [i, f, g, o] = tf.split(z, 4, 0);
        c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
        h = tf.mul(tf.sigmoid(o), tf.tanh(c)) as tf.Tensor2D;
      }
      if (dropout && dropout.rate > 0) h = tf.dropout(h, dropout.rate, undefined, dropout.seed + 1) as tf.Tensor2D;
      const out = tf.add(tf.matMul(h, this.v('headKernel'), true), this.v('headBias')); // [B, heads]
      if (!this.shape.layerSpecificHeads) return out.reshape([B, H, E]);
      // Pick each sample's target-layer head: a one-hot mask over L, summed out (differentiable, any backend).
      const mask = oneHotF(asFloat(b.targetLayers), L).expandDims(3); // [B, H, L, 1]
      return tf.sum(tf.mul(out.reshape([B, H, L, E]), mask), 2) as tf.Tensor3D;
    });
  }

  /** Copies of the weights, by parameter name (for tests, export and early-stopping snapshots). */
  async readWeights(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const p of this.params) out[p.name] = (await p.variable.data()) as Float32Array;
    return out;
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** A variable that owns its data: tf.variable() leaves the initial tensor alive beside it, so dispose that. */
export function ownedVariable(init: tf.Tensor, trainable: boolean): tf.Variable {
  const v = tf.variable(init, trainable);
  init.dispose();
  return v;
}

/**
 * One-hot of float ids as float32: 1 − |id − e| clipped at 0, which is exactly 1 at e = id and 0 elsewhere for
 * integer-valued ids. Arithmetic instead of tf.oneHot + cast, which two backends get wrong in tfjs 4.22: WASM
 * writes the integer bits of 1 into a float32 one-hot (1.4e-45), WebGPU relabels instead of converting.
 */
export function oneHotF(ids: tf.Tensor, depth: number): tf.Tensor {
  return tf.tidy(() => tf.relu(tf.sub(1, tf.abs(tf.sub(ids.expandDims(-1), tf.range(0, depth, 1, 'float32'))))));
}

/** Multi-hot targets [B, H, E] from the true top-k ids [B, H*K]. */
export function multiHot(targets: tf.Tensor2D, horizon: number, numExperts: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, HK] = targets.shape;
    const oh = oneHotF(asFloat(targets).reshape([-1]), numExperts).reshape([B, horizon, HK / horizon, numExperts]);
    return tf.sum(oh, 2) as tf.Tensor3D;
  });
}

/** Mean sigmoid binary cross-entropy of logits against multi-hot labels, in its numerically stable form. */
export function bceWithLogits(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))));
}

/**
 * Sum over the batch of recall@k per horizon step: |top-k(logits) ∩ truth| / K, as a [H] tensor.
 * Stays on the device; callers add it up and read it once per epoch. The top k are the logits at or above the
 * k-th largest (float math only, see oneHotF); a tie at the k-th value can count one extra, which float logits
 * make vanishingly rare. This is a training metric: test-set numbers come from src/core's metrics.
 */
export function recallHits(logits: tf.Tensor3D, labels: tf.Tensor3D, topK: number): tf.Tensor1D {
  return tf.tidy(() => {
    const { values } = tf.topk(logits, topK); // [B, H, K], descending
    const kth = values.slice([0, 0, topK - 1], [-1, -1, 1]); // [B, H, 1]
    // step(x) is 1 for x > 0, else 0: so 1 − step(kth − logit) is 1 exactly when logit ≥ kth.
    const picked = tf.sub(1, tf.step(tf.sub(kth, logits)));
    return tf.div(tf.sum(tf.mul(picked, labels), [0, 2]), topK) as tf.Tensor1D;
  });
}
