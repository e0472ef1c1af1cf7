/**
 * The sequence model's network, written out on Float32Arrays: forward, backward and AdamW in plain TypeScript,
 * so it trains at the same speed in Node (CLI, tests) and in the page's training worker, with no backend to
 * start and bit-identical results everywhere for a seed.
 *
 * For token t and last visible layer l (decode: the token's layers ≤ l, every earlier token), the hidden state is
 *   z = b + Σ_c mean_j Ctx_c[(l-c, e_{l-c,j})] + mean_{s≤l, j} Pre[(s, e_{s,j})] + Σ_q Tok_q[token t-q]
 * and for each horizon step h (target layer τ = l+h)
 *   a = relu(z + mean_j Prev_h[(τ, e'_{τ,j})]),  logits = W_hᵀ a + Bias[τ]
 * where e' are the previous token's experts (a padding row when the sequence has none). In prefill (shape.next) z also
 * has mean_j Next[(l, e''_{l,j})], the next token's experts at layer l (a padding row when there is none). Ctx and Prev are keyed by
 * (layer, expert), so every layer has its own experts; Bias starts at the training split's log-frequency per layer,
 * so an untrained net scores like the frequency baseline. The loss is softmax cross-entropy against the true top-k
 * set (1/K on each of its experts).
 */
import { createRng } from '../../core/experiment/rng';
import type { TraceShape } from '../../core/trace/types';
import { layoutBlocks, LazyAdamW, type Block } from './adam';
import { TOKEN_HISTORY, type TokenInputs } from './inputs';

export interface NetShape extends TraceShape {
  context: number;
  horizon: number;
  hidden: number;
  /** Vocabulary size (0: the trace has no token identities). */
  vocab: number;
  /** Prefill: the next token's experts at layer l are an input (its layers up to l are routed with the current one's). */
  next?: boolean;
}

export class SequenceNet {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly opt: LazyAdamW;
  private readonly blocks: Record<'ctx' | 'pre' | 'prev' | 'tok' | 'next' | 'b' | 'W' | 'bias', Block>;
  private readonly z: Float32Array;
  /** Running sum of Pre rows of the token's layers 0..l (unscaled), and each window's dz (backward of Pre). */
  private readonly pre: Float32Array;
  private readonly dzAll: Float32Array;
  private readonly dz: Float32Array;
  private readonly a: Float32Array;
  private readonly da: Float32Array;
  private readonly logits: Float32Array;
  /** First layer l with a full context, last one with a full horizon. */
  readonly first: number;
  readonly last: number;

  constructor(
    readonly shape: NetShape,
    seed: number,
    logFrequency: Float32Array,
  ) {
    const { numLayers: L, numExperts: E, context: C, horizon: H, hidden: d, vocab: V } = shape;
    this.first = C - 1;
    this.last = L - 1 - H;
    const sizes = {
      ctx: C * L * E * d,
      pre: L * E * d,
      prev: H * (L * E + 1) * d,
      tok: V > 0 ? (1 + TOKEN_HISTORY) * V * d : 0,
      next: shape.next ? (L * E + 1) * d : 0,
      b: d,
      W: H * d * E,
      bias: L * E,
    };
    // Embedding rows (ctx, pre, prev, tok: the blocks before b) get the lazy update; W is decayed.
    const { blocks, total } = layoutBlocks(sizes);
    this.blocks = blocks;
    this.opt = new LazyAdamW(total, blocks.b.offset, d);
    this.params = this.opt.params;
    this.grads = this.opt.grads;
    this.opt.decayMask.fill(1, blocks.W.offset, blocks.W.offset + blocks.W.size);
    const rnd = createRng(seed);
    const uniform = (b: Block, limit: number) => {
      for (let i = b.offset; i < b.offset + b.size; i++) this.params[i] = (rnd() * 2 - 1) * limit;
    };
    // Embeddings with standard deviation 0.1; W glorot-uniform; the padding row of Prev stays zero.
    uniform(this.blocks.ctx, 0.1 * Math.sqrt(3));
    uniform(this.blocks.pre, 0.1 * Math.sqrt(3));
    uniform(this.blocks.prev, 0.1 * Math.sqrt(3));
    for (let h = 0; h < H; h++)
      this.params.fill(0, this.blocks.prev.offset + (h * (L * E + 1) + L * E) * d, this.blocks.prev.offset + (h + 1) * (L * E + 1) * d);
    uniform(this.blocks.tok, 0.1 * Math.sqrt(3));
    uniform(this.blocks.next, 0.1 * Math.sqrt(3));
    this.params.fill(0, this.blocks.next.offset + this.blocks.next.size - (shape.next ? d : 0), this.blocks.next.offset + this.blocks.next.size);
    uniform(this.blocks.W, Math.sqrt(6 / (d + E)));
    if (logFrequency.length !== L * E) throw new Error(`internal: log-frequency of ${logFrequency.length} values for ${L}x${E}`);
    this.params.set(logFrequency, this.blocks.bias.offset);
    this.z = new Float32Array(d);
    this.pre = new Float32Array(d);
    this.dzAll = new Float32Array((this.last - this.first + 1) * d);
    this.dz = new Float32Array(d);
    this.a = new Float32Array(d);
    this.da = new Float32Array(d);
    this.logits = new Float32Array(E);
  }

  get parameterCount(): number {
    return this.params.length;
  }

  /** Named views of the parameters (for export and tests). */
  tensors(): Record<string, { data: Float32Array; dims: number[] }> {
    const { numLayers: L, numExperts: E, context: C, horizon: H, hidden: d, vocab: V } = this.shape;
    const view = (b: Block) => this.params.subarray(b.offset, b.offset + b.size);
    return {
      ctx: { data: view(this.blocks.ctx), dims: [C, L * E, d] },
      pre: { data: view(this.blocks.pre), dims: [L * E, d] },
      prev: { data: view(this.blocks.prev), dims: [H, L * E + 1, d] },
      ...(V > 0 && { tok: { data: view(this.blocks.tok), dims: [1 + TOKEN_HISTORY, V, d] } }),
      ...(this.shape.next && { next: { data: view(this.blocks.next), dims: [L * E + 1, d] } }),
      b: { data: view(this.blocks.b), dims: [d] },
      W: { data: view(this.blocks.W), dims: [H, d, E] },
      bias: { data: view(this.blocks.bias), dims: [L, E] },
    };
  }

  /** Adds the Pre rows of layer s of token r to the running prefix sum. */
  private addPrefix(x: TokenInputs, r: number, s: number): void {
    const { numLayers: L, numExperts: E, topK: K, hidden: d } = this.shape;
    const p = this.params;
    for (let j = 0; j < K; j++) {
      const o = this.blocks.pre.offset + (s * E + x.experts[(r * L + s) * K + j]) * d;
      for (let i = 0; i < d; i++) this.pre[i] += p[o + i];
    }
  }

  /** The prefix sum of token r up to layer l, from scratch. */
  private prefix(x: TokenInputs, r: number, l: number): void {
    this.pre.fill(0);
    for (let s = 0; s <= l; s++) this.addPrefix(x, r, s);
  }

  /**
   * z for token row r at last visible layer l: bias, context layers, the mean of every visible layer (`pre`, which
   * must hold the prefix sum up to l), token identities.
   */
  private base(x: TokenInputs, r: number, l: number): void {
    const { numLayers: L, numExperts: E, topK: K, context: C, hidden: d, vocab: V } = this.shape;
    const p = this.params;
    const z = this.z;
    const bo = this.blocks.b.offset;
    const ps = 1 / ((l + 1) * K);
    for (let i = 0; i < d; i++) z[i] = p[bo + i] + ps * this.pre[i];
    const inv = 1 / K;
    const ex = x.experts;
    for (let c = 0; c < C; c++) {
      const layer = l - c;
      const tab = this.blocks.ctx.offset + c * L * E * d;
      for (let j = 0; j < K; j++) {
        const o = tab + (layer * E + ex[(r * L + layer) * K + j]) * d;
        for (let i = 0; i < d; i++) z[i] += inv * p[o + i];
      }
    }
    if (V > 0) {
      const Q = 1 + TOKEN_HISTORY;
      for (let q = 0; q < Q; q++) {
        const id = x.tokens[r * Q + q];
        const o = this.blocks.tok.offset + (q * V + id) * d;
        for (let i = 0; i < d; i++) z[i] += p[o + i];
      }
    }
    if (this.shape.next)
      for (let j = 0; j < K; j++) {
        const o = this.nextRow(x, r, l, j);
        for (let i = 0; i < d; i++) z[i] += inv * p[o + i];
      }
  }

  /** Row offset in Next for layer l's rank-j expert of the next token (padding row when none). */
  private nextRow(x: TokenInputs, r: number, l: number, j: number): number {
    const { numLayers: L, numExperts: E, topK: K, hidden: d } = this.shape;
    const nr = x.next[r];
    const id = nr >= 0 ? l * E + x.experts[(nr * L + l) * K + j] : L * E;
    return this.blocks.next.offset + id * d;
  }

  /** Row offset in Prev_h for target layer τ's rank-j expert of the previous token (padding row when none). */
  private prevRow(x: TokenInputs, r: number, h: number, tau: number, j: number): number {
    const { numLayers: L, numExperts: E, topK: K, hidden: d } = this.shape;
    const pr = x.prev[r];
    const id = pr >= 0 ? tau * E + x.experts[(pr * L + tau) * K + j] : L * E;
    return this.blocks.prev.offset + (h * (L * E + 1) + id) * d;
  }

  /**
   * Logits of window (r, l) at horizon step h (0-based) into out[0..E); `a` holds the hidden activations.
   * base(x, r, l) must have been called for (r, l).
   */
  private head(x: TokenInputs, r: number, l: number, h: number, out: Float32Array): void {
    const { numExperts: E, topK: K, hidden: d } = this.shape;
    const p = this.params;
    const a = this.a;
    const z = this.z;
    const tau = l + 1 + h;
    for (let i = 0; i < d; i++) a[i] = z[i];
    const inv = 1 / K;
    for (let j = 0; j < K; j++) {
      const o = this.prevRow(x, r, h, tau, j);
      for (let i = 0; i < d; i++) a[i] += inv * p[o + i];
    }
    headForward(p, a, this.blocks.W.offset + h * d * E, this.blocks.bias.offset + tau * E, d, out);
  }

  /** Logits of every horizon step of window (r, l): out[h*E + e]. */
  predict(x: TokenInputs, r: number, l: number, out: Float32Array): void {
    const { numExperts: E, horizon: H } = this.shape;
    this.prefix(x, r, l);
    this.base(x, r, l);
    for (let h = 0; h < H; h++) this.head(x, r, l, h, out.subarray(h * E, (h + 1) * E));
  }

  /**
   * Adds the gradient of the loss of every window of token row r (each scaled by `scale`) to `grads`;
   * returns the summed unscaled loss and adds the windows' top-k hits per step to `hits`.
   */
  accumulate(x: TokenInputs, r: number, scale: number, hits: Float64Array | null): number {
    const { numLayers: L, numExperts: E, topK: K, context: C, horizon: H, hidden: d, vocab: V } = this.shape;
    const p = this.params;
    const g = this.grads;
    const a = this.a;
    const da = this.da;
    const dz = this.dz;
    const lg = this.logits;
    const ex = x.experts;
    const inv = 1 / K;
    let loss = 0;
    this.pre.fill(0);
    for (let s = 0; s < this.first; s++) this.addPrefix(x, r, s);
    for (let l = this.first; l <= this.last; l++) {
      this.addPrefix(x, r, l);
      this.base(x, r, l);
      dz.fill(0);
      for (let h = 0; h < H; h++) {
        const tau = l + 1 + h;
        this.head(x, r, l, h, lg);
        loss += softmaxCrossEntropy(lg, ex, (r * L + tau) * K, K, scale, hits, h);
        headBackward(p, g, a, lg, this.blocks.W.offset + h * d * E, this.blocks.bias.offset + tau * E, d, da);
        for (let i = 0; i < d; i++) dz[i] += da[i];
        for (let j = 0; j < K; j++) {
          const o = this.prevRow(x, r, h, tau, j);
          this.touch(o);
          for (let i = 0; i < d; i++) g[o + i] += inv * da[i];
        }
      }
      const bo = this.blocks.b.offset;
      for (let i = 0; i < d; i++) g[bo + i] += dz[i];
      this.dzAll.set(dz, (l - this.first) * d);
      for (let c = 0; c < C; c++) {
        const layer = l - c;
        const tab = this.blocks.ctx.offset + c * L * E * d;
        for (let j = 0; j < K; j++) {
          const o = tab + (layer * E + ex[(r * L + layer) * K + j]) * d;
          this.touch(o);
          for (let i = 0; i < d; i++) g[o + i] += inv * dz[i];
        }
      }
      if (V > 0) {
        const Q = 1 + TOKEN_HISTORY;
        for (let q = 0; q < Q; q++) {
          const o = this.blocks.tok.offset + (q * V + x.tokens[r * Q + q]) * d;
          this.touch(o);
          for (let i = 0; i < d; i++) g[o + i] += dz[i];
        }
      }
      if (this.shape.next)
        for (let j = 0; j < K; j++) {
          const o = this.nextRow(x, r, l, j);
          this.touch(o);
          for (let i = 0; i < d; i++) g[o + i] += inv * dz[i];
        }
    }
    // Pre rows of layer s get the windows l ≥ s: a suffix sum of dz_l / ((l+1)K), once per token.
    const run = this.pre;
    run.fill(0);
    for (let s = this.last; s >= 0; s--) {
      if (s >= this.first) {
        const w = 1 / ((s + 1) * K);
        const o = (s - this.first) * d;
        for (let i = 0; i < d; i++) run[i] += w * this.dzAll[o + i];
      }
      for (let j = 0; j < K; j++) {
        const o = this.blocks.pre.offset + (s * E + ex[(r * L + s) * K + j]) * d;
        this.touch(o);
        for (let i = 0; i < d; i++) g[o + i] += run[i];
      }
    }
    return loss;
  }

  private touch(o: number): void {
    this.opt.touch(o);
  }

  /** Windows per token. */
  get windowsPerToken(): number {
    return this.last - this.first + 1;
  }

  /** One AdamW update from `grads` (then zeroed), with global-norm clipping (adam.ts). */
  step(lr: number, weightDecay: number, clipNorm: number): void {
    this.opt.step(lr, weightDecay, clipNorm);
  }

  /** Copies of the parameters and optimizer state (early stopping keeps the best epoch's). */
  snapshot(): Float32Array {
    return this.params.slice();
  }

  restore(s: Float32Array): void {
    this.params.set(s);
  }
}

/**
 * The output head both sequence nets share: a ← relu(a) in place, out = W_hᵀ a + bias, with W_h the d×E block at
 * `wo` and the bias row at `bo` of `p` (out's length is E).
 */
export function headForward(p: Float32Array, a: Float32Array, wo: number, bo: number, d: number, out: Float32Array): void {
  const E = out.length;
  for (let e = 0; e < E; e++) out[e] = p[bo + e];
  for (let i = 0; i < d; i++) {
    const ai = a[i] > 0 ? a[i] : 0;
    a[i] = ai;
    if (ai === 0) continue;
    const w = wo + i * E;
    for (let e = 0; e < E; e++) out[e] += ai * p[w + e];
  }
}

/**
 * Backward of headForward for the logits' gradient `lg`: adds to the bias and W_h gradients in `g`, and writes into
 * `da` the gradient of the pre-activation (zero where relu was off; `a` holds the activations).
 */
export function headBackward(p: Float32Array, g: Float32Array, a: Float32Array, lg: Float32Array, wo: number, bo: number, d: number, da: Float32Array): void {
  const E = lg.length;
  for (let e = 0; e < E; e++) g[bo + e] += lg[e];
  for (let i = 0; i < d; i++) {
    const ai = a[i];
    if (ai === 0) {
      da[i] = 0;
      continue;
    }
    const w = wo + i * E;
    let s = 0;
    for (let e = 0; e < E; e++) {
      g[w + e] += ai * lg[e];
      s += p[w + e] * lg[e];
    }
    da[i] = s;
  }
}

/**
 * Softmax cross-entropy of logits `lg` (length E) against the true top-k set ex[off..off+K) (1/K on each): returns
 * the unscaled loss, adds the top-k hits / K to hits[h], and leaves in `lg` the gradient (softmax - y) · scale.
 */
export function softmaxCrossEntropy(
  lg: Float32Array,
  ex: ArrayLike<number>,
  off: number,
  K: number,
  scale: number,
  hits: Float64Array | null,
  h: number,
): number {
  const E = lg.length;
  let max = -Infinity;
  for (let e = 0; e < E; e++) if (lg[e] > max) max = lg[e];
  let sum = 0;
  for (let e = 0; e < E; e++) {
    lg[e] = Math.exp(lg[e] - max);
    sum += lg[e];
  }
  if (hits) hits[h] += topKHits(lg, ex, off, K) / K;
  for (let e = 0; e < E; e++) lg[e] /= sum;
  const inv = 1 / K;
  let loss = 0;
  for (let j = 0; j < K; j++) loss -= inv * Math.log(lg[ex[off + j]] + 1e-30);
  for (let e = 0; e < E; e++) lg[e] *= scale;
  for (let j = 0; j < K; j++) lg[ex[off + j]] -= inv * scale;
  return loss;
}

/** How many of the true experts ex[off..off+K) are among the K highest scores. */
export function topKHits(scores: ArrayLike<number>, ex: ArrayLike<number>, off: number, K: number): number {
  let hits = 0;
  for (let j = 0; j < K; j++) {
    const t = ex[off + j];
    const s = scores[t];
    // The true expert is in the top K when fewer than K other experts score at least as high (ties count against it).
    let higher = 0;
    for (let e = 0; e < scores.length && higher < K; e++) if (e !== t && scores[e] >= s) higher++;
    if (higher < K) hits++;
  }
  return hits;
}
