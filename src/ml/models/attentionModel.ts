/**
 * A small attention model over the routing context: the items are the current token's context layers
 * (l-C+1..l), the previous P tokens at the target layer and, when the trace has tokens, the token itself;
 * each item is the mean of its K layer-expert embeddings plus an embedding of its slot. A query per target
 * layer attends over them (one head, scaled dot product); the attended value plus the query go through a
 * ReLU layer to the E logits. Dynamic context length masks the dropped context layers out of the softmax.
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchTensors, DropoutSpec, ModelShape } from '../interLayerModel';
import { padId } from './features';
import type { JointOptions } from './jointModel';
import { affine, contextMask, lookup, maybeDropout, meanOfK, Params, type SpeculationModel } from './speculationModel';

export class AttentionModel implements SpeculationModel {
  private readonly p: Params;
  private readonly w: Record<string, tf.Variable> = {};
  private readonly items: number;

  constructor(
    readonly shape: ModelShape,
    seed: number,
    readonly options: JointOptions,
  ) {
    const { numLayers: L, numExperts: E, context: C, embeddingDim: d, hiddenUnits: u } = shape;
    this.items = C + options.history + (options.vocabSize > 0 ? 1 : 0);
    this.p = new Params(seed);
    this.w.layerExpert = this.p.embedding('layerExpertEmbedding', padId(L, E) + 1, d);
    if (options.vocabSize > 0) this.w.token = this.p.embedding('tokenEmbedding', options.vocabSize, d);
    this.w.slot = this.p.embedding('slotEmbedding', this.items, d, 0.1);
    this.w.query = this.p.embedding('targetLayerQuery', L, d);
    this.w.key = this.p.dense('keyKernel', d, d);
    this.w.value = this.p.dense('valueKernel', d, d);
    this.w.hidden = this.p.dense('hiddenKernel', d, u);
    this.w.hiddenBias = this.p.filled('hiddenBias', [u]);
    this.w.out = this.p.dense('outKernel', u, E);
    this.w.outBias = this.p.filled('outBias', [E]);
    this.w.targetOut = this.p.filled('targetLayerOutBias', [L, E]);
  }

  get params() {
    return this.p.list;
  }
  get variables() {
    return this.p.variables;
  }

  forward(b: BatchTensors, dropout: DropoutSpec | null): tf.Tensor3D {
    const { numExperts: E, topK: K, context: C, horizon: H, embeddingDim: d } = this.shape;
    const P = this.options.history;
    const N = this.items;
    const x = b.extra!;
    return tf.tidy(() => {
      const B = x.ctxIds.shape[0];
      const ctx = meanOfK(this.w.layerExpert, x.ctxIds, C, K); // [B, C, d]
      const parts: tf.Tensor[] = [tf.tile(ctx.expandDims(1), [1, H, 1, 1])];
      if (P > 0) parts.push(meanOfK(this.w.layerExpert, x.prevIds, H * P, K).reshape([B, H, P, d]));
      if (this.w.token) parts.push(tf.tile(lookup(this.w.token, x.token).reshape([B, 1, 1, d]), [1, H, 1, 1]));
      // [B*H*N, d]: every item of every (window, target layer), plus its slot embedding.
      const items = maybeDropout(tf.add(tf.concat(parts, 2), this.w.slot).reshape([B * H * N, d]), dropout, 0);
      const keys = affine(items, this.w.key).reshape([B * H, N, d]);
      const values = affine(items, this.w.value).reshape([B * H, N, d]);
      const q = lookup(this.w.query, x.tgt.reshape([-1])); // [B*H, d]
      let scores: tf.Tensor = tf.div(tf.sum(tf.mul(keys, q.expandDims(1)), 2), Math.sqrt(d)); // [B*H, N]
      const mask = contextMask(B, C, this.options.dynamicContext, dropout);
      if (mask) {
        // Dropped context layers get −1e9 before the softmax; the other items are always there.
        const full = tf.concat([mask, tf.ones([B, N - C])], 1);
        scores = tf.add(scores, tf.mul(tf.sub(tf.tile(full.expandDims(1), [1, H, 1]).reshape([B * H, N]), 1), 1e9));
      }
      const attended = tf.sum(tf.mul(tf.softmax(scores).expandDims(2), values), 1); // [B*H, d]
      let h: tf.Tensor = tf.relu(affine(tf.add(attended, q), this.w.hidden, this.w.hiddenBias));
      h = maybeDropout(h, dropout, 1);
      const tgt = x.tgt.reshape([-1]);
      return tf.add(affine(h, this.w.out, this.w.outBias), lookup(this.w.targetOut, tgt)).reshape([B, H, E]) as tf.Tensor3D;
    });
  }

  readWeights() {
    return this.p.read();
  }
  dispose() {
    this.p.dispose();
  }
}
