/**
 * Buffer layouts of the fused InterLayer training step: every parameter in one flat float32 buffer (and the same
 * layout for gradients and the two AdamW moments), every activation of a step in one work buffer.
 *
 * The LSTM's input kernel W [d, 4u], bias [4u] and recurrent kernel U [u, 4u] sit back to back as one
 * [(d + 1 + u), 4u] matrix, so that a context step's gates are one product [x | 1 | h_prev] · [W; b; U] and their
 * gradient is one product with the transposed inputs. The head kernel [u, heads] and its bias likewise form one
 * [(u + 1), heads] matrix. Gate order is i, f, g, o, as in interLayerModel.ts.
 */
import type { ModelShape } from '../interLayerModel';

export interface Segment {
  /** Parameter name in InterLayerModel. */
  name: string;
  offset: number;
  size: number;
  shape: number[];
  /** Decoupled weight decay applies (weight matrices only, as in adamw.ts). */
  decay: boolean;
}

export interface FusedLayout {
  B: number;
  C: number;
  K: number;
  D: number;
  U: number;
  G: number;
  L: number;
  E: number;
  H: number;
  /** Head columns: H·E, or H·L·E with layer-specific heads. */
  NH: number;
  /** H·E: the logits of one sample. */
  HE: number;
  LSH: boolean;
  /** Width of one row of the LSTM input buffer A: [x (D) | h_prev (U)]. */
  R: number;
  params: Segment[];
  /** Offsets of the parameter segments, in floats. */
  p: { EE: number; LE: number; W: number; BIAS: number; U: number; HK: number; HB: number; N: number };
  /** Offsets into the work buffer, in floats. */
  w: Record<WorkRegion, number> & { size: number };
  /** Norm partial sums: one per workgroup of the norm pass. */
  nPart: number;
  /** Elements each norm workgroup covers. */
  partChunk: number;
}

export type WorkRegion =
  | 'ids' // per sample: C·K context experts, C context layers, H target layers, H·K targets (as floats)
  | 'A' // [C, B, R]: dropped-out inputs x and the previous hidden state of each step
  | 'act' // [C, B, 4U]: gate activations i, f, g, o
  | 'cell' // [C, B, U]: cell states
  | 'hd' // [B, U]: last hidden state after dropout
  | 'logits' // [B, NH]: every head's logits (the loss picks each sample's target-layer head)
  | 'dl' // [B, HE]: d loss / d logits
  | 'dz' // [C, B, 4U]: d loss / d gate pre-activations
  | 'dc' // [B, U]: the cell gradient carried to the previous step
  | 'dx' // [C, B, D]: d loss / d dropped-out inputs
  | 'loss' // [B, HE]: each logit's loss term
  | 'hits' // [B, HE]: each logit's recall hit (picked and true)
  | 'part' // [nPart]
  | 'stats'; // [1 + H]: summed loss (mean per sample × samples) and recall hits since the epoch began

export const ID_COLS = (C: number, K: number, H: number) => C * K + C + H + H * K;

export function fusedLayout(shape: ModelShape, batchSize: number): FusedLayout {
  const { numLayers: L, numExperts: E, topK: K, context: C, horizon: H, embeddingDim: D, hiddenUnits: U, layerSpecificHeads: LSH } = shape;
  const B = batchSize;
  const G = 4 * U;
  const NH = H * (LSH ? L : 1) * E;
  const HE = H * E;
  const R = D + U;
  const params: Segment[] = [];
  let at = 0;
  const seg = (name: string, shapeDims: number[], decay: boolean) => {
    const size = shapeDims.reduce((a, b) => a * b, 1);
    params.push({ name, offset: at, size, shape: shapeDims, decay });
    at += size;
    return at - size;
  };
  const p = {
    EE: seg('expertEmbedding', [E, D], false),
    LE: seg('layerEmbedding', [L, D], false),
    W: seg('lstmKernel', [D, G], true),
    BIAS: seg('lstmBias', [G], false),
    U: seg('lstmRecurrent', [U, G], true),
    HK: seg('headKernel', [U, NH], true),
    HB: seg('headBias', [NH], false),
    N: 0,
  };
  p.N = at;
  const partChunk = 256 * 8;
  const nPart = Math.ceil(p.N / partChunk);
  const sizes: [WorkRegion, number][] = [
    ['ids', B * ID_COLS(C, K, H)],
    ['A', C * B * R],
    ['act', C * B * G],
    ['cell', C * B * U],
    ['hd', B * U],
    ['logits', B * NH],
    ['dl', B * HE],
    ['dz', C * B * G],
    ['dc', B * U],
    ['dx', C * B * D],
    ['loss', B * HE],
    ['hits', B * HE],
    ['part', nPart],
    ['stats', 1 + H],
  ];
  const w = { size: 0 } as FusedLayout['w'];
  let o = 0;
  for (const [name, n] of sizes) {
    w[name] = o;
    o += n;
  }
  w.size = o;
  return { B, C, K, D, U, G, L, E, H, NH, HE, LSH, R, params, p, w, nPart, partChunk };
}
