/**
 * Parameters, gradients and AdamW state of the sequence nets (net.ts, tokensNet.ts), laid out as embedding rows
 * of `rowSize` values followed by dense parameters from `dense` on.
 *
 * `step` is torch.optim.AdamW's update with global-norm clipping for the dense part; embedding rows are updated
 * lazily, only when they have a gradient in the step (as LazyAdam / torch.optim.SparseAdam do), so a step costs
 * the rows a batch uses, not the whole vocabulary.
 */
export class LazyAdamW {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly decayMask: Uint8Array;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  private readonly touchedMark: Uint8Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;

  constructor(
    size: number,
    private readonly dense: number,
    private readonly rowSize: number,
  ) {
    this.params = new Float32Array(size);
    this.grads = new Float32Array(size);
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.decayMask = new Uint8Array(size);
    const rows = Math.ceil(dense / rowSize);
    this.touchedMark = new Uint8Array(rows);
    this.touched = new Int32Array(rows);
  }

  /** Marks the embedding row starting at parameter offset `o` as having a gradient this step. */
  touch(o: number): void {
    const r = (o / this.rowSize) | 0;
    if (!this.touchedMark[r]) {
      this.touchedMark[r] = 1;
      this.touched[this.touchedCount++] = r;
    }
  }

  /** One AdamW update from `grads` (then zeroed). */
  step(lr: number, weightDecay: number, clipNorm: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): void {
    const g = this.grads;
    const d = this.rowSize;
    const dense = this.dense;
    const n = g.length;
    let scale = 1;
    if (clipNorm > 0) {
      let sq = 0;
      for (let t = 0; t < this.touchedCount; t++) for (let i = this.touched[t] * d, e = i + d; i < e; i++) sq += g[i] * g[i];
      for (let i = dense; i < n; i++) sq += g[i] * g[i];
      const norm = Math.sqrt(sq);
      if (norm > clipNorm) scale = clipNorm / (norm + 1e-6);
    }
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const p = this.params;
    const m = this.m;
    const v = this.v;
    const mask = this.decayMask;
    const stepSize = lr / c1;
    const decay = 1 - lr * weightDecay;
    const update = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const gi = g[i] * scale;
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        if (mask[i]) p[i] *= decay;
        p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i] / c2) + eps);
        g[i] = 0;
      }
    };
    for (let t = 0; t < this.touchedCount; t++) {
      const r = this.touched[t];
      update(r * d, Math.min(dense, (r + 1) * d));
      this.touchedMark[r] = 0;
    }
    this.touchedCount = 0;
    update(dense, n);
  }
}

/** Named blocks of a flat parameter array, in order. */
export interface Block {
  offset: number;
  size: number;
}

export function layoutBlocks<N extends string>(sizes: Record<N, number>): { blocks: Record<N, Block>; total: number } {
  let off = 0;
  const blocks = {} as Record<N, Block>;
  for (const name of Object.keys(sizes) as N[]) {
    blocks[name] = { offset: off, size: sizes[name] };
    off += sizes[name];
  }
  return { blocks, total: off };
}
