/**
 * The time a speculation model has to hide behind: how long one MoE layer of the traced model takes to decode a
 * token. Traces record no timings, so this is a stated estimate for the models SpecLab has traces of, from their
 * published configs: at batch-1 decode a layer is memory-bound, so it takes at least the time to read its active
 * weights (attention projections, router, the top-k routed experts and any shared experts) once from GPU memory.
 * The GPU is the reference design's (RTX 3090, 936 GB/s); the weight width comes from the trace's quantisation.
 * A prediction for layer l+1 made while layer l runs is hidden when it takes less than this.
 */
import type { Manifest as TraceManifest } from '../core/trace/types';

export interface LayerTime {
  /** Milliseconds per token and MoE layer (lower bound: active weight bytes / memory bandwidth). */
  ms: number;
  /** The model whose layer this is, as the table names it. */
  model: string;
  activeParametersPerLayer: number;
  bytesPerWeight: number;
  bandwidthGBs: number;
  device: string;
  how: string;
  /** Where the layer sizes come from. */
  source: string;
}

/** The reference design's GPU (../shared/docs/REFERENCE-DESIGN.md): GeForce RTX 3090, 936 GB/s GDDR6X (NVIDIA's specification). */
export const REFERENCE_GPU = { device: 'GeForce RTX 3090', bandwidthGBs: 936 };

interface LayerSizes {
  model: string;
  /** Matches a trace of this model: by name, or by (layers, experts, top-k) when the name says nothing. */
  match: (m: Pick<TraceManifest, 'model' | 'numLayers' | 'numExperts' | 'topK'>) => boolean;
  /** Active parameters of one MoE layer for one token. */
  active: number;
  source: string;
}

/** A Mixtral-style layer: GQA attention, a router over E experts, K SwiGLU experts (3 matrices each). */
const mixtralLayer = (hidden: number, ffn: number, heads: number, kvHeads: number, experts: number, k: number) => {
  const headDim = hidden / heads;
  const attention = 2 * hidden * hidden + 2 * hidden * kvHeads * headDim;
  return attention + hidden * experts + k * 3 * hidden * ffn;
};

/** A DeepSeek-V2 layer without a query low-rank projection: MLA attention, router, K routed + S shared experts. */
const deepseekV2LiteLayer = (
  hidden: number,
  heads: number,
  kvRank: number,
  nope: number,
  rope: number,
  v: number,
  experts: number,
  k: number,
  shared: number,
  ffn: number,
) => {
  const attention = hidden * heads * (nope + rope) + hidden * (kvRank + rope) + kvRank * heads * (nope + v) + heads * v * hidden;
  return attention + hidden * experts + (k + shared) * 3 * hidden * ffn;
};

const TABLE: LayerSizes[] = [
  {
    model: 'Mixtral-8x7B',
    match: (m) => /mixtral[-_ ]?8x7b/i.test(m.model.name) || (m.numLayers === 32 && m.numExperts === 8 && m.topK === 2 && !/8x22b/i.test(m.model.name)),
    active: mixtralLayer(4096, 14336, 32, 8, 8, 2),
    source: 'mistralai/Mixtral-8x7B-v0.1 config.json: hidden 4096, intermediate 14336, 32 heads, 8 KV heads, 8 experts, top-2',
  },
  {
    model: 'DeepSeek-V2-Lite',
    match: (m) => /deepseek[-_ ]?v2[-_ ]?lite/i.test(m.model.name) || (m.numLayers === 26 && m.numExperts === 64 && m.topK === 6),
    active: deepseekV2LiteLayer(2048, 16, 512, 128, 64, 128, 64, 6, 2, 1408),
    source:
      'deepseek-ai/DeepSeek-V2-Lite config.json: hidden 2048, 16 heads, kv_lora_rank 512, qk 128 + rope 64, v 128, no q_lora, 64 routed experts top-6 + 2 shared, moe_intermediate 1408',
  },
  {
    model: 'speclab-demo/mixtral-tiny-bytes',
    match: (m) => m.model.name === 'speclab-demo/mixtral-tiny-bytes',
    active: mixtralLayer(128, 96, 4, 2, 8, 2),
    source: 'collector/speclab_collect/demo_model/config.json: hidden 128, intermediate 96, 4 heads, 2 KV heads, 8 experts, top-2',
  },
];

/** Bytes per weight for a trace's quantisation field; null when it does not say. */
export function bytesPerWeight(quantization: string | undefined): number | null {
  const q = (quantization ?? '').toLowerCase();
  if (/fp8|int8|8[- ]?bit|w8/.test(q)) return 1;
  if (/int4|4[- ]?bit|nf4|w4|awq|gptq/.test(q)) return 0.5;
  if (/bf16|fp16|float16|half/.test(q)) return 2;
  if (/fp32|float32/.test(q)) return 4;
  return null;
}

/** The layer time of a trace's model, or null when the table does not know the model. */
export function layerTimeOf(m: Pick<TraceManifest, 'model' | 'numLayers' | 'numExperts' | 'topK'> & { quantization?: string }): LayerTime | null {
  const row = TABLE.find((r) => r.match(m));
  if (!row) return null;
  const known = bytesPerWeight(m.quantization);
  // Traces imported from routing logs often do not say; the Mixtral and DeepSeek traces were served in 8 bit.
  const width = known ?? (/fp8|8bit|int8/i.test(m.model.name) ? 1 : 2);
  const { device, bandwidthGBs } = REFERENCE_GPU;
  const ms = ((row.active * width) / (bandwidthGBs * 1e9)) * 1e3;
  return {
    ms,
    model: row.model,
    activeParametersPerLayer: row.active,
    bytesPerWeight: width,
    bandwidthGBs,
    device,
    how: `batch-1 decode reads the layer's ${(row.active / 1e6).toFixed(1)}M active weights once: × ${width} byte${width === 1 ? '' : 's'} (${known !== null ? `quantization ${m.quantization}` : 'the trace does not say: bf16 assumed'}) / ${bandwidthGBs} GB/s (${device})`,
    source: row.source,
  };
}
