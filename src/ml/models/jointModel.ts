/**
 * Joint temporal + inter-layer model: for each target layer l+h it sees the current token's experts at the
 * context layers l-C+1..l AND the previous P tokens' experts at l+h itself (the two signals the Markov and
 * temporal baselines use one at a time), and, in its token-aware form, an embedding of the token.
 *   per context layer / previous token: mean of its K layer-expert embeddings (d each)
 *   → concatenated [C + P (+1 token)] × d → dense(hidden) + target-layer bias, ReLU → dense(E) + target-layer bias
 * plus a wide (linear) part beside this deep one, a learned form of the two count baselines: a logit table per
 * (context slot, layer-expert) over the H×E targets (Markov-like, from every context layer) and one per
 * (previous token, layer-expert at the target layer) over E (temporal-like), each averaged over the K experts.
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchTensors, DropoutSpec, ModelShape } from '../interLayerModel';
import { padId } from './features';
import { affine, contextMask, lookup, maybeDropout, meanOfK, Params, type SpeculationModel } from './speculationModel';

export interface JointOptions {
  history: number;
  /** Vocabulary size of the token embedding; 0 = no token input. */
  vocabSize: number;
  dynamicContext: boolean;
}

export class JointModel implements SpeculationModel {
  private readonly p: Params;
  private readonly w: Record<string, tf.Variable> = {};

  constructor(
    readonly shape: ModelShape,
    seed: number,
    readonly options: JointOptions,
  ) {
    const { numLayers: L, numExperts: E, context: C, embeddingDim: d, hiddenUnits: u } = shape;
    const P = options.history;
    const inputs = (C + P + (options.vocabSize > 0 ? 1 : 0)) * d;
    this.p = new Params(seed);
    this.w.layerExpert = this.p.embedding('layerExpertEmbedding', padId(L, E) + 1, d);
    if (options.vocabSize > 0) this.w.token = this.p.embedding('tokenEmbedding', options.vocabSize, d);
    this.w.hidden = this.p.dense('hiddenKernel', inputs, u);
    this.w.hiddenBias = this.p.filled('hiddenBias', [u]);
    this.w.targetHidden = this.p.filled('targetLayerHiddenBias', [L, u]);
    this.w.out = this.p.dense('outKernel', u, E);
    this.w.outBias = this.p.filled('outBias', [E]);
    this.w.targetOut = this.p.filled('targetLayerOutBias', [L, E]);
    // Wide part: zero at the start, so training begins from the deep part's frequencies.
    this.w.wideContext = this.p.filled('wideContext', [C * (padId(L, E) + 1), shape.horizon * E]);
    if (P > 0) this.w.widePrev = this.p.filled('widePrevious', [P * (padId(L, E) + 1), E]);
  }

  get params() {
    return this.p.list;
  }
  get variables() {
    return this.p.variables;
  }

  forward(b: BatchTensors, dropout: DropoutSpec | null): tf.Tensor3D {
    const { numExperts: E, topK: K, context: C, horizon: H, embeddingDim: d } = this.shape;
    const { numLayers: L } = this.shape;
    const P = this.options.history;
    const x = b.extra!;
    const rows = padId(L, E) + 1;
    return tf.tidy(() => {
      const B = x.ctxIds.shape[0];
      // Wide part. Context slot s uses rows s·rows + id; previous token p uses rows p·rows + id.
      const slot = (n: number, per: number, k: number) =>
        tf
          .mul(tf.floorDiv(tf.range(0, n * per * k, 1, 'int32'), tf.scalar(k, 'int32')).mod(tf.scalar(per, 'int32')), tf.scalar(rows, 'int32'))
          .reshape([1, n * per * k]);
      let wide: tf.Tensor = tf.sum(lookup(this.w.wideContext, tf.add(x.ctxIds, slot(1, C, K))).reshape([B, C * K, H, E]), 1).div(K);
      if (P > 0) wide = tf.add(wide, tf.sum(lookup(this.w.widePrev, tf.add(x.prevIds, slot(H, P, K))).reshape([B, H, P * K, E]), 2).div(K));
      let ctx: tf.Tensor = meanOfK(this.w.layerExpert, x.ctxIds, C, K); // [B, C, d]
      const mask = contextMask(B, C, this.options.dynamicContext, dropout);
      if (mask) ctx = tf.mul(ctx, mask.expandDims(2));
      const parts: tf.Tensor[] = [tf.tile(ctx.reshape([B, 1, C * d]), [1, H, 1])];
      if (P > 0) parts.push(meanOfK(this.w.layerExpert, x.prevIds, H * P, K).reshape([B, H, P * d]));
      if (this.w.token) parts.push(tf.tile(lookup(this.w.token, x.token).reshape([B, 1, d]), [1, H, 1]));
      const z = maybeDropout(tf.concat(parts, 2).reshape([B * H, -1]), dropout, 0);
      const tgt = x.tgt.reshape([-1]);
      let h: tf.Tensor = tf.relu(tf.add(affine(z, this.w.hidden, this.w.hiddenBias), lookup(this.w.targetHidden, tgt)));
      h = maybeDropout(h, dropout, 1);
      return tf.add(tf.add(affine(h, this.w.out, this.w.outBias), lookup(this.w.targetOut, tgt)).reshape([B, H, E]), wide) as tf.Tensor3D;
    });
  }

  readWeights() {
    return this.p.read();
  }
  dispose() {
    this.p.dispose();
  }
}
