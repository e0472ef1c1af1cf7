/**
 * Turns expert-cache hit rates into estimated decode speed when experts live in host memory and are copied
 * to the GPU over a link (PCIe) on a miss. Deliberately simple, every parameter editable:
 *   per token: compute of every layer, plus a stall for each demand miss (an expert copy the layer waits for),
 *   plus any prefetch traffic that does not fit under the compute time it overlaps.
 */
export interface OffloadParams {
  numLayers: number;
  topK: number;
  /** Model width and expert FFN width (Mixtral 8x7B: 4096 and 14336). */
  hidden: number;
  ffn: number;
  /** Weight matrices per expert (3 for a SwiGLU expert: gate, up, down). */
  matricesPerExpert: number;
  /** Bits per weight as stored for transfer (16, 8, 4, ...). */
  bitsPerWeight: number;
  /** Host-to-GPU bandwidth actually reached, GB/s (PCIe 4.0 x16: about 25 of its 32 GB/s). */
  bandwidthGBs: number;
  /** GPU time of one layer for one decoded token with its experts resident, ms. */
  computeMsPerLayer: number;
}

/** Mixtral 8x7B on an RTX 3090 over PCIe 4.0 x16, 8-bit experts. */
export const MIXTRAL_3090: OffloadParams = {
  numLayers: 32,
  topK: 2,
  hidden: 4096,
  ffn: 14336,
  matricesPerExpert: 3,
  bitsPerWeight: 8,
  bandwidthGBs: 25,
  computeMsPerLayer: 0.45,
};

export interface OffloadEstimate {
  expertBytes: number;
  /** Time to copy one expert over the link, ms. */
  loadMs: number;
  demandMissesPerToken: number;
  stallMsPerToken: number;
  msPerToken: number;
  tokensPerSecond: number;
}

export function expertBytes(p: Pick<OffloadParams, 'hidden' | 'ffn' | 'matricesPerExpert' | 'bitsPerWeight'>): number {
  return (p.matricesPerExpert * p.hidden * p.ffn * p.bitsPerWeight) / 8;
}

/**
 * @param hitRate share of demand accesses (token x layer x k) found resident
 * @param prefetchesPerToken experts copied ahead of need per token (they overlap compute)
 */
export function estimateOffload(p: OffloadParams, hitRate: number, prefetchesPerToken = 0): OffloadEstimate {
  if (!(hitRate >= 0 && hitRate <= 1)) throw new Error(`hit rate must be in [0, 1] (got ${hitRate})`);
  for (const k of ['numLayers', 'topK', 'hidden', 'ffn', 'matricesPerExpert', 'bitsPerWeight', 'bandwidthGBs'] as const)
    if (!(p[k] > 0)) throw new Error(`${k} must be positive (got ${p[k]})`);
  if (!(p.computeMsPerLayer >= 0)) throw new Error(`computeMsPerLayer must be ≥ 0 (got ${p.computeMsPerLayer})`);
  const bytes = expertBytes(p);
  const loadMs = (bytes / (p.bandwidthGBs * 1e9)) * 1000;
  const computeMs = p.numLayers * p.computeMsPerLayer;
  const demandMissesPerToken = (1 - hitRate) * p.numLayers * p.topK;
  const prefetchOverflowMs = Math.max(0, prefetchesPerToken * loadMs - computeMs);
  const stallMsPerToken = demandMissesPerToken * loadMs + prefetchOverflowMs;
  const msPerToken = computeMs + stallMsPerToken;
  return { expertBytes: bytes, loadMs, demandMissesPerToken, stallMsPerToken, msPerToken, tokensPerSecond: 1000 / msPerToken };
}
