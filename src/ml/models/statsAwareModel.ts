/**
 * The reference design's statistics-aware model: InterLayer's routing context (per context layer, the mean of
 * its K expert embeddings plus a layer embedding, encoded by an LSTM) with per-layer statistics from the
 * training split added (layerStats.ts: utilisation entropy, routing diversity, historical activation
 * frequencies). Each context layer's statistics are projected into its input; the target layer's statistics are
 * projected into the head, and its historical frequencies enter the logits as a learned-weight log prior.
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchTensors, DropoutSpec, ModelShape } from '../interLayerModel';
import type { LayerStats } from './layerStats';
import { affine, contextMask, lookup, maybeDropout, Params, type SpeculationModel } from './speculationModel';

export class StatsAwareModel implements SpeculationModel {
  private readonly p: Params;
  private readonly w: Record<string, tf.Variable> = {};
  /** [L, F] statistics and [L, E] log frequencies: constants, not trained. */
  private readonly stats: tf.Tensor2D;
  private readonly logFreq: tf.Tensor2D;

  constructor(
    readonly shape: ModelShape,
    seed: number,
    layerStats: LayerStats,
    private readonly dynamicContext: boolean,
  ) {
    const { numLayers: L, numExperts: E, embeddingDim: d, hiddenUnits: u, horizon: H } = shape;
    const F = layerStats.width;
    this.stats = tf.tensor2d(layerStats.values, [L, F]);
    this.logFreq = tf.tidy(() => tf.log(tf.add(this.stats.slice([0, 2], [L, E]), 1 / (E * 100))) as tf.Tensor2D);
    this.p = new Params(seed);
    this.w.expert = this.p.embedding('expertEmbedding', E, d);
    this.w.layer = this.p.embedding('layerEmbedding', L, d);
    this.w.statsIn = this.p.dense('statsInputKernel', F, d);
    this.w.kernel = this.p.dense('lstmKernel', d, 4 * u);
    this.w.recurrent = this.p.dense('lstmRecurrent', u, 4 * u);
    // Forget-gate bias 1 (gate order i, f, g, o).
    this.w.bias = this.p.filled('lstmBias', [4 * u]);
    tf.tidy(() => this.w.bias.assign(tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])])));
    this.w.statsHead = this.p.dense('statsHeadKernel', F, u);
    this.w.head = this.p.dense('headKernel', u, H * E);
    this.w.headBias = this.p.filled('headBias', [H * E]);
    this.w.targetOut = this.p.filled('targetLayerOutBias', [L, E]);
    this.w.prior = this.p.filled('priorWeight', [H], 1);
  }

  get params() {
    return this.p.list;
  }
  get variables() {
    return this.p.variables;
  }

  forward(b: BatchTensors, dropout: DropoutSpec | null): tf.Tensor3D {
    const { numExperts: E, topK: K, context: C, horizon: H, embeddingDim: d, hiddenUnits: u } = this.shape;
    const x = b.extra!;
    return tf.tidy(() => {
      const B = x.ctxIds.shape[0];
      // Layer-expert ids back to (layer, expert): the context layers are l-C+1..l with l = first target − 1
      // (int32 arithmetic only), and e = id − layer·E.
      const ids = x.ctxIds.reshape([B, C, K]);
      const layers = tf.add(x.tgt.slice([0, 0], [B, 1]), tf.range(-C, 0, 1, 'int32').expandDims(0)) as tf.Tensor2D; // [B, C]
      const experts = tf.sub(ids, tf.mul(layers.expandDims(2), tf.scalar(E, 'int32')));
      let inp: tf.Tensor = tf.add(tf.mean(lookup(this.w.expert, experts), 2), lookup(this.w.layer, layers)); // [B, C, d]
      const st = tf.gather(this.stats, layers.reshape([-1])); // [B*C, F]
      inp = tf.add(inp, affine(st, this.w.statsIn).reshape([B, C, d]));
      inp = maybeDropout(inp, dropout, 0);
      const mask = contextMask(B, C, this.dynamicContext, dropout);
      let h: tf.Tensor = tf.zeros([B, u]);
      let c: tf.Tensor = tf.zeros([B, u]);
      for (let s = 0; s < C; s++) {
        const xs = inp.slice([0, s, 0], [B, 1, d]).reshape([B, d]);
        const z = tf.add(tf.add(affine(xs, this.w.kernel), affine(h, this.w.recurrent)), this.w.bias);
        const [i, f, g, o] = tf.split(z, 4, 1);
        let c2: tf.Tensor = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        let h2: tf.Tensor = tf.mul(tf.sigmoid(o), tf.tanh(c2));
        if (mask) {
          // A dropped context layer leaves the state as it was.
          const m = mask.slice([0, s], [B, 1]);
          c2 = tf.add(tf.mul(m, c2), tf.mul(tf.sub(1, m), c));
          h2 = tf.add(tf.mul(m, h2), tf.mul(tf.sub(1, m), h));
        }
        c = c2;
        h = h2;
      }
      h = maybeDropout(h, dropout, 1);
      const tgt = x.tgt.reshape([-1]);
      const tgtStats = affine(tf.gather(this.stats, tgt), this.w.statsHead).reshape([B, H, u]);
      // Head per horizon step from the encoded context, plus the target layer's statistics through the same head.
      const head = this.w.head.reshape([u, H, E]);
      const fromCtx = affine(h, this.w.head, this.w.headBias).reshape([B, H, E]);
      const fromStats = tf.stack(
        Array.from({ length: H }, (_, k) =>
          affine(tf.tanh(tgtStats.slice([0, k, 0], [B, 1, u]).reshape([B, u])), head.slice([0, k, 0], [u, 1, E]).reshape([u, E])),
        ),
        1,
      );
      const prior = tf.mul(tf.gather(this.logFreq, tgt).reshape([B, H, E]), this.w.prior.reshape([1, H, 1]));
      return tf.addN([fromCtx, fromStats, prior, lookup(this.w.targetOut, tgt).reshape([B, H, E])]) as tf.Tensor3D;
    });
  }

  readWeights() {
    return this.p.read();
  }
  dispose() {
    this.p.dispose();
    tf.dispose([this.stats, this.logFreq]);
  }
}
