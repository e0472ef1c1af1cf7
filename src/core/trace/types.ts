/**
 * Trace format v1, in memory. See docs/trace-format.md for the on-disk form.
 * Layer indices here are MoE-layer indices 0..numLayers-1; `manifest.moeLayerIds` maps them to the model's layers.
 */
export const FORMAT_NAME = 'speclab-trace';
export const FORMAT_VERSION = 1;

export interface ModelInfo {
  name: string;
  revision?: string;
}

export interface ShardEntry {
  /** File name relative to the manifest; no directories, no "..". */
  file: string;
  tokens: number;
  /** Lower-case hex SHA-256 of the shard file's bytes. */
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT_NAME;
  version: typeof FORMAT_VERSION;
  model: ModelInfo;
  /** What ran the model, e.g. "transformers 5.18.0" or "vllm". */
  engine: string;
  /** Weight precision as run: "bf16", "fp16", "fp8", "int8", "int4", "fp32" or free text. */
  quantization: string;
  numLayers: number;
  numExperts: number;
  topK: number;
  /** The model's layer index of each MoE layer; length numLayers, strictly increasing. */
  moeLayerIds: number[];
  /** Dataset names; the shard column `dataset` indexes this list. */
  datasets: string[];
  hasWeights: boolean;
  hasLogits: boolean;
  hasTokenIds: boolean;
  hasTokenText: boolean;
  /**
   * Present (H ≥ 1) when the shards carry `lookahead_logits`: the routers of layers l+1..l+H applied to layer l's
   * router input, the signal speculative expert loading uses.
   */
  lookaheadHorizon?: number;
  /** Tokens the producer dropped because some layers were missing. */
  droppedTokens: number;
  shards: ShardEntry[];
  /** Free text shown to people: where the trace came from. */
  description?: string;
  /** Producer and its options, for provenance. */
  source?: Record<string, unknown>;
}

/** One decoded shard: column arrays of `tokens` rows. Tokens are complete (every layer present). */
export interface TraceChunk {
  tokens: number;
  seq: Int32Array;
  pos: Int32Array;
  dataset: Uint16Array;
  /** Token ids; -1 where unknown. Present when manifest.hasTokenIds. */
  tokenId?: Int32Array;
  tokenText?: string[];
  /** tokens * numLayers * topK expert ids, token-major then layer then rank: [(t*L + l)*K + j]. */
  experts: Int16Array;
  /** Routing weights, same layout as experts. Present when manifest.hasWeights. */
  weights?: Float32Array;
  /** Router logits: [(t*L + l)*E + e]. Present when manifest.hasLogits. */
  logits?: Float32Array;
  /**
   * Lookahead gate logits: [((t*L + l)*H + h-1)*E + e] is the router of layer l+h applied to token t's router input
   * at layer l (H = manifest.lookaheadHorizon); NaN where layer l+h does not exist. Present when lookaheadHorizon.
   */
  lookahead?: Float32Array;
}

export interface TraceSet {
  manifest: Manifest;
  /** Chunks in shard order; a sequence's tokens are contiguous and in ascending position across chunks. */
  chunks: TraceChunk[];
}

export interface TraceShape {
  numLayers: number;
  numExperts: number;
  topK: number;
}

export function shapeOf(m: Manifest): TraceShape {
  return { numLayers: m.numLayers, numExperts: m.numExperts, topK: m.topK };
}

export function totalTokens(set: TraceSet): number {
  let n = 0;
  for (const c of set.chunks) n += c.tokens;
  return n;
}

/** An error about bad input that names where it was found (file, record, field). */
export class TraceError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(`${where}: ${oneLine(message)}`);
    this.name = 'TraceError';
  }
}

/** Control characters (line breaks included) shown as escapes, so an error is always one line of text. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? ' ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
