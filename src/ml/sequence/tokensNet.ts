/**
 * The sequence model for the next-tokens task (the reference design's: from the routing of the last C tokens,
 * predict every layer's experts of the next H tokens), on Float32Arrays like net.ts (same AdamW, same loss).
 *
 * For current token t (fully routed) with context tokens t-c, c = 0..C-1, and vocabulary indices of t, t-1, t-2:
 *   z   = b + mean_{s, j} Pre[(s, e_{t,s,j})] + Σ_q Tok_q[token t-q]
 *   z_h = z + Fut_h[token t+1+h]                    (prefill only: the prompt's later tokens are known)
 * and for each step h and target layer τ
 *   a = relu(z_h + Σ_c mean_j Ctx_{h,c}[(τ, e_{t-c,τ,j})])
 *   logits = W_hᵀ a + Bias[τ] + Σ_{c, j} Copy[h, c, τ, j] · onehot(e_{t-c,τ,j})
 * Copy is the temporal baseline made learnable (how much the expert a layer used c tokens back, at rank j, counts
 * again); it starts at the temporal baseline's ranks for the current token, so an untrained net already copies.
 * Ctx is keyed by (layer, expert), so the experts a layer used in the last C tokens speak for that layer (the
 * signal of the Markov and temporal baselines), while Pre and Tok carry the token's whole routing and identity.
 */
import { createRng } from '../../core/experiment/rng';
import type { TraceShape } from '../../core/trace/types';
import { layoutBlocks, LazyAdamW, type Block } from './adam';
import { TOKEN_HISTORY } from './inputs';
import { headBackward, headForward, softmaxCrossEntropy } from './net';

export interface TokensNetShape extends TraceShape {
  context: number;
  horizon: number;
  hidden: number;
  /** Vocabulary size (0: the trace has no token identities). */
  vocab: number;
  /** Prefill: the identities of tokens t+1..t+H are inputs. */
  future: boolean;
}

/** One window's inputs: what the next-tokens task lets the model see at token t. */
export interface TokensWindow {
  /** [C*L*K] experts of tokens t, t-1, ..., t-C+1 (c-major, then layer, then rank). */
  context: Int16Array;
  /** [1+TOKEN_HISTORY] vocabulary indices of tokens t, t-1, t-2 (0: unknown or none). */
  tokens: Int32Array;
  /** [H] vocabulary indices of tokens t+1..t+H (prefill; 0 otherwise). */
  future: Int32Array;
}

export class NextTokensNet {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly opt: LazyAdamW;
  private readonly blocks: Record<'ctx' | 'pre' | 'tok' | 'fut' | 'b' | 'W' | 'bias' | 'copy', Block>;
  private readonly z: Float32Array;
  private readonly zh: Float32Array;
  private readonly dz: Float32Array;
  private readonly dzh: Float32Array;
  private readonly a: Float32Array;
  private readonly da: Float32Array;
  private readonly logits: Float32Array;

  constructor(
    readonly shape: TokensNetShape,
    seed: number,
    logFrequency: Float32Array,
  ) {
    const { numLayers: L, numExperts: E, topK: K, context: C, horizon: H, hidden: d, vocab: V } = shape;
    const { blocks, total } = layoutBlocks({
      ctx: H * C * L * E * d,
      pre: L * E * d,
      tok: V > 0 ? (1 + TOKEN_HISTORY) * V * d : 0,
      fut: V > 0 && shape.future ? H * V * d : 0,
      b: d,
      W: H * d * E,
      bias: L * E,
      copy: H * C * L * K,
    });
    this.blocks = blocks;
    this.opt = new LazyAdamW(total, blocks.b.offset, d);
    this.params = this.opt.params;
    this.grads = this.opt.grads;
    this.opt.decayMask.fill(1, blocks.W.offset, blocks.W.offset + blocks.W.size);
    const rnd = createRng(seed);
    const uniform = (b: Block, limit: number) => {
      for (let i = b.offset; i < b.offset + b.size; i++) this.params[i] = (rnd() * 2 - 1) * limit;
    };
    for (const name of ['ctx', 'pre', 'tok', 'fut'] as const) uniform(blocks[name], 0.1 * Math.sqrt(3));
    uniform(blocks.W, Math.sqrt(6 / (d + E)));
    if (logFrequency.length !== L * E) throw new Error(`internal: log-frequency of ${logFrequency.length} values for ${L}x${E}`);
    this.params.set(logFrequency, blocks.bias.offset);
    for (let h = 0; h < H; h++) for (let tau = 0; tau < L; tau++) for (let j = 0; j < K; j++) this.params[this.copyIndex(h, 0, tau, j)] = (K - j) / K;
    this.z = new Float32Array(d);
    this.zh = new Float32Array(d);
    this.dz = new Float32Array(d);
    this.dzh = new Float32Array(d);
    this.a = new Float32Array(d);
    this.da = new Float32Array(d);
    this.logits = new Float32Array(E);
  }

  get parameterCount(): number {
    return this.params.length;
  }

  /** Target layers per horizon step. */
  get windowsPerToken(): number {
    return this.shape.numLayers;
  }

  tensors(): Record<string, { data: Float32Array; dims: number[] }> {
    const { numLayers: L, numExperts: E, context: C, horizon: H, hidden: d, vocab: V } = this.shape;
    const view = (b: Block) => this.params.subarray(b.offset, b.offset + b.size);
    return {
      ctx: { data: view(this.blocks.ctx), dims: [H, C, L * E, d] },
      pre: { data: view(this.blocks.pre), dims: [L * E, d] },
      ...(V > 0 && { tok: { data: view(this.blocks.tok), dims: [1 + TOKEN_HISTORY, V, d] } }),
      ...(V > 0 && this.shape.future && { fut: { data: view(this.blocks.fut), dims: [H, V, d] } }),
      b: { data: view(this.blocks.b), dims: [d] },
      W: { data: view(this.blocks.W), dims: [H, d, E] },
      bias: { data: view(this.blocks.bias), dims: [L, E] },
      copy: { data: view(this.blocks.copy), dims: [H, C, L, this.shape.topK] },
    };
  }

  private copyIndex(h: number, c: number, tau: number, j: number): number {
    const { numLayers: L, topK: K, context: C } = this.shape;
    return this.blocks.copy.offset + ((h * C + c) * L + tau) * K + j;
  }

  /** z of a window (bias, the current token's routing, identities). */
  private base(w: TokensWindow): void {
    const { numLayers: L, numExperts: E, topK: K, hidden: d, vocab: V } = this.shape;
    const p = this.params;
    const z = this.z;
    const bo = this.blocks.b.offset;
    for (let i = 0; i < d; i++) z[i] = p[bo + i];
    const s = 1 / (L * K);
    for (let l = 0; l < L; l++)
      for (let j = 0; j < K; j++) {
        const o = this.blocks.pre.offset + (l * E + w.context[l * K + j]) * d;
        for (let i = 0; i < d; i++) z[i] += s * p[o + i];
      }
    if (V > 0)
      for (let q = 0; q <= TOKEN_HISTORY; q++) {
        const o = this.blocks.tok.offset + (q * V + w.tokens[q]) * d;
        for (let i = 0; i < d; i++) z[i] += p[o + i];
      }
  }

  /** z_h = z + Fut_h (prefill). */
  private stepBase(w: TokensWindow, h: number): void {
    const { hidden: d, vocab: V } = this.shape;
    this.zh.set(this.z);
    if (V > 0 && this.shape.future) {
      const o = this.blocks.fut.offset + (h * V + w.future[h]) * d;
      for (let i = 0; i < d; i++) this.zh[i] += this.params[o + i];
    }
  }

  /** Offset of the Ctx row of step h, context token c, layer τ, rank j. */
  private ctxRow(w: TokensWindow, h: number, c: number, tau: number, j: number): number {
    const { numLayers: L, numExperts: E, topK: K, context: C, hidden: d } = this.shape;
    return this.blocks.ctx.offset + (((h * C + c) * L + tau) * E + w.context[(c * L + tau) * K + j]) * d;
  }

  /** Logits of step h, layer τ into out[0..E); `a` keeps the activations. zh must hold step h's base. */
  private head(w: TokensWindow, h: number, tau: number, out: Float32Array): void {
    const { numExperts: E, topK: K, context: C, hidden: d } = this.shape;
    const p = this.params;
    const a = this.a;
    a.set(this.zh);
    const inv = 1 / K;
    for (let c = 0; c < C; c++)
      for (let j = 0; j < K; j++) {
        const o = this.ctxRow(w, h, c, tau, j);
        for (let i = 0; i < d; i++) a[i] += inv * p[o + i];
      }
    headForward(p, a, this.blocks.W.offset + h * d * E, this.blocks.bias.offset + tau * E, d, out);
    const { numLayers: L } = this.shape;
    for (let c = 0; c < C; c++) for (let j = 0; j < K; j++) out[w.context[(c * L + tau) * K + j]] += p[this.copyIndex(h, c, tau, j)];
  }

  /** Logits of every (step, layer) of a window: out[(h*L + τ)*E + e]. */
  predict(w: TokensWindow, out: Float32Array): void {
    const { numLayers: L, numExperts: E, horizon: H } = this.shape;
    this.base(w);
    for (let h = 0; h < H; h++) {
      this.stepBase(w, h);
      for (let tau = 0; tau < L; tau++) this.head(w, h, tau, out.subarray((h * L + tau) * E, (h * L + tau + 1) * E));
    }
  }

  /**
   * Adds the gradient of the window's loss (every step and layer, each scaled by `scale`) to `grads`; `targets`
   * holds the experts of tokens t+1..t+H ([H*L*K]). Returns the summed unscaled loss; adds top-k hits per step.
   */
  accumulate(w: TokensWindow, targets: Int16Array, scale: number, hits: Float64Array | null): number {
    const { numLayers: L, numExperts: E, topK: K, context: C, horizon: H, hidden: d, vocab: V } = this.shape;
    const p = this.params;
    const g = this.grads;
    const a = this.a;
    const da = this.da;
    const lg = this.logits;
    const inv = 1 / K;
    let loss = 0;
    this.base(w);
    this.dz.fill(0);
    for (let h = 0; h < H; h++) {
      this.stepBase(w, h);
      this.dzh.fill(0);
      for (let tau = 0; tau < L; tau++) {
        this.head(w, h, tau, lg);
        loss += softmaxCrossEntropy(lg, targets, (h * L + tau) * K, K, scale, hits, h);
        for (let c = 0; c < C; c++) for (let j = 0; j < K; j++) g[this.copyIndex(h, c, tau, j)] += lg[w.context[(c * L + tau) * K + j]];
        headBackward(p, g, a, lg, this.blocks.W.offset + h * d * E, this.blocks.bias.offset + tau * E, d, da);
        for (let i = 0; i < d; i++) this.dzh[i] += da[i];
        for (let c = 0; c < C; c++)
          for (let j = 0; j < K; j++) {
            const o = this.ctxRow(w, h, c, tau, j);
            this.opt.touch(o);
            for (let i = 0; i < d; i++) g[o + i] += inv * da[i];
          }
      }
      if (V > 0 && this.shape.future) {
        const o = this.blocks.fut.offset + (h * V + w.future[h]) * d;
        this.opt.touch(o);
        for (let i = 0; i < d; i++) g[o + i] += this.dzh[i];
      }
      for (let i = 0; i < d; i++) this.dz[i] += this.dzh[i];
    }
    const dz = this.dz;
    const bo = this.blocks.b.offset;
    for (let i = 0; i < d; i++) g[bo + i] += dz[i];
    const s = 1 / (L * K);
    for (let l = 0; l < L; l++)
      for (let j = 0; j < K; j++) {
        const o = this.blocks.pre.offset + (l * E + w.context[l * K + j]) * d;
        this.opt.touch(o);
        for (let i = 0; i < d; i++) g[o + i] += s * dz[i];
      }
    if (V > 0)
      for (let q = 0; q <= TOKEN_HISTORY; q++) {
        const o = this.blocks.tok.offset + (q * V + w.tokens[q]) * d;
        this.opt.touch(o);
        for (let i = 0; i < d; i++) g[o + i] += dz[i];
      }
    return loss;
  }

  step(lr: number, weightDecay: number, clipNorm: number): void {
    this.opt.step(lr, weightDecay, clipNorm);
  }

  snapshot(): Float32Array {
    return this.params.slice();
  }

  restore(s: Float32Array): void {
    this.params.set(s);
  }
}
