/**
 * What a learned predictor costs at inference: its trained parameters, the bytes of its weights (its export's
 * tensors, float32), and the time it takes per token, measured in this process: the median of several timed
 * batches of the first tokens of a set, each batch the predictor's own prepare() and score() of every window of
 * its tokens (what eval and the notebook run), after one untimed warm-up batch. Next to it, the time of one layer
 * of the traced model (layerTime.ts) that a prediction made during the layer before must hide behind.
 */
import { scorePredictor } from '../core/predictors/evaluate';
import { windowsPerToken, type TaskSpec } from '../core/tasks/task';
import { sliceChunk } from '../core/trace/chunk';
import type { TraceChunk, TraceSet } from '../core/trace/types';
import { sizeOf } from './exportModel';
import type { LearnedPredictor } from './interLayerPredictor';
import { layerTimeOf, type LayerTime } from './layerTime';

export interface PredictorCost {
  /** Trained parameters (constants such as the statistics-aware model's layer statistics excluded). */
  parameters: number;
  /** Bytes of the weights as exported (float32, constants included). */
  bytes: number;
  /** Median over the timed batches of a batch's milliseconds / its tokens. */
  inferenceMsPerToken: number;
  /** The same per window (token, last context layer): the work of one layer's prediction. */
  inferenceMsPerWindow: number;
  /** Where it ran: 'gpu' (WebGPU, WebGL) or 'cpu' (WASM, the tfjs CPU backend, the TypeScript engine). */
  device: 'cpu' | 'gpu';
  /** The engine it ran on, e.g. 'wasm', 'webgpu', 'cpu (TypeScript engine)'. */
  backend: string;
  batches: number;
  tokensPerBatch: number;
  /** Milliseconds of each timed batch. */
  batchMs: number[];
  /** One layer of the traced model (null: a model the table does not know). */
  layer: LayerTime | null;
  /** inferenceMsPerWindow / layer.ms: below 1, a layer's prediction takes less than a layer (null without a layer time). */
  windowToLayer: number | null;
}

export interface CostOptions {
  /** The engine the predictor runs on (see PredictorCost.backend). */
  backend: string;
  /** Timed batches (default 5) and tokens per batch (default 64). */
  batches?: number;
  tokens?: number;
  /** Milliseconds (default performance.now). */
  now?: () => number;
}

/** The engine a learned predictor infers on: the sequence model on its TypeScript engine, the others on tfjs. */
export function inferenceBackend(p: Pick<LearnedPredictor, 'training'>, tfBackend: string): string {
  return p.training?.trainingPath === 'cpu' ? 'cpu (TypeScript engine)' : tfBackend;
}

/** Whether a backend name is a GPU. */
export const isGpuBackend = (backend: string): boolean => /^(webgpu|webgl)/.test(backend);

/** The first `tokens` tokens of a set (views, no copy). */
export function firstTokens(set: TraceSet, tokens: number): TraceSet {
  const chunks: TraceChunk[] = [];
  let n = 0;
  for (const c of set.chunks) {
    if (n >= tokens) break;
    const take = Math.min(c.tokens, tokens - n);
    chunks.push(take === c.tokens ? c : sliceChunk(c, set.manifest, 0, take));
    n += take;
  }
  return { manifest: set.manifest, chunks };
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Measures `p` (trained) on the first tokens of `set`. It prepares `p` on that subset: prepare `p` on the set it
 * scores again before scoring it after this.
 */
export async function measureCost(p: LearnedPredictor, set: TraceSet, task: TaskSpec, o: CostOptions): Promise<PredictorCost> {
  if (!p.exportModel) throw new Error(`${p.name}: cannot report its size (no export)`);
  const { parameters, bytes } = sizeOf(await p.exportModel());
  const sample = firstTokens(set, o.tokens ?? 64);
  const tokens = sample.chunks.reduce((a, c) => a + c.tokens, 0);
  if (!tokens) throw new Error(`${p.name}: no tokens to time inference on`);
  const now = o.now ?? (() => performance.now());
  const batches = o.batches ?? 5;
  const batchMs: number[] = [];
  for (let b = 0; b <= batches; b++) {
    const t0 = now();
    await p.prepare(sample, task);
    scorePredictor(p, sample, task);
    const ms = now() - t0;
    if (b > 0) batchMs.push(ms); // batch 0 warms up (kernel compilation, caches)
  }
  const perToken = median(batchMs) / tokens;
  const perWindow = perToken / Math.max(1, windowsPerToken(set.manifest.numLayers, task));
  const layer = layerTimeOf(set.manifest);
  return {
    parameters,
    bytes,
    inferenceMsPerToken: perToken,
    inferenceMsPerWindow: perWindow,
    device: isGpuBackend(o.backend) ? 'gpu' : 'cpu',
    backend: o.backend,
    batches,
    tokensPerBatch: tokens,
    batchMs,
    layer,
    windowToLayer: layer ? perWindow / layer.ms : null,
  };
}
