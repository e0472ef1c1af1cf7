/**
 * Exports a trained learned model for inference runtimes: its weights (and the constants it computes with) as
 * safetensors, a JSON description (model, shape, options, vocabulary, inputs, the trace it was trained on,
 * hyperparameters, metrics, cost), and reference cases: inputs built from real windows of a trace with the
 * outputs SpecLab computed for them. collector/speclab_collect/predictor.py loads the pair into a PyTorch module
 * and `python -m speclab_collect.predictor check <name>.json` compares its outputs with the cases.
 *
 * Each adapter builds its model's part (LearnedPredictor.exportModel); this file has the shared pieces and the
 * packaging, and imports no predictor.
 */
import { encodeSafetensors, type NamedTensor } from '../core/export/safetensors';
import type { TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';
import type { InterLayerModel } from './interLayerModel';
import type { Vocabulary } from './models/vocabulary';
import type { Windows } from './windows';

export const PREDICTOR_FORMAT = 'speclab-predictor';

/** Reference inputs (nested integer arrays, named as the description's `inputs`) and SpecLab's outputs for them. */
export interface ExportCases {
  /** 'windows': one case per (token, last context layer) window; 'tokens': one per token, all its windows. */
  unit: 'windows' | 'tokens';
  /** What `output` holds: the model's logits, or the probabilities the predictor ranks by (the ensemble). */
  outputKind: 'logits' | 'probabilities';
  /** Flat, in the order of the output's shape ([B, H, E] for windows, [B, W, H, E] for tokens). */
  output: number[];
  /** Token id or text of each case's token where the model has a vocabulary (null: none recorded). */
  tokenKeys?: (number | string | null)[];
  /** The input holding the vocabulary index of the case's token (first column). */
  tokenIndexField?: string;
  [input: string]: unknown;
}

/** A model's part of an export, built by its adapter. */
export interface ExportedModel {
  /** The learned predictor's name (src/core/experiment/modelConfig.ts LEARNED_PREDICTORS). */
  model: string;
  shape: object;
  /** Model options beyond the shape (e.g. the joint model's history and vocabulary size). */
  options?: Record<string, unknown>;
  /** Trained parameters and constants, by name. */
  tensors: Record<string, NamedTensor>;
  /** Names in `tensors` that are constants computed from the training split, not trained. */
  constants?: string[];
  /** Index i + 1 of the model's token vocabulary is keys[i]; index 0: any other token. */
  vocabulary?: { source: Vocabulary['source']; keys: (number | string)[] };
  /** The ensemble's members: their tensors are in `tensors` under `${prefix}${name}`. */
  members?: { model: string; shape: object; options?: Record<string, unknown>; prefix: string }[];
  inputs: Record<string, string>;
  cases?: ExportCases;
}

/** Where an export takes its reference cases from, and how many (windows or tokens). */
export interface ExportSample {
  set: TraceSet;
  task: TaskSpec;
  count?: number;
}

export const DEFAULT_CASES = 48;

export interface PredictorDescription {
  format: typeof PREDICTOR_FORMAT;
  version: 1;
  model: string;
  /** File name of the weights, beside this description. */
  weights: string;
  /** File name of the reference cases, beside this description (absent when none were written). */
  cases?: string;
  shape: object;
  options?: Record<string, unknown>;
  vocabulary?: ExportedModel['vocabulary'];
  members?: ExportedModel['members'];
  constants?: string[];
  /** Inputs, as the PyTorch module takes them. */
  inputs: Record<string, string>;
  /** Trained parameters (constants excluded) and bytes of the weights file's tensors (float32). */
  parameters: number;
  bytes: number;
  trainedOn?: { model: string; numLayers: number; numExperts: number; topK: number; tokens?: number };
  hyperparameters?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  cost?: Record<string, unknown>;
}

export type ExportExtra = Pick<PredictorDescription, 'trainedOn' | 'hyperparameters' | 'metrics' | 'cost'>;

/** The inputs of the window models, as src/ml/windows.ts and src/ml/models/features.ts build them. */
export const WINDOW_INPUTS: Record<string, string> = {
  ctxExperts: 'int [B, C*K]: the top-k expert ids of context layers l-C+1..l, layer-major (interlayer)',
  ctxLayers: 'int [B, C]: the MoE layer index of each context layer (interlayer)',
  targetLayers: 'int [B, H]: the MoE layer index of each predicted layer l+1..l+H (interlayer)',
  ctxIds: 'int [B, C*K]: layer-expert ids layer*E + expert of context layers l-C+1..l (stats-aware, joint, token-aware, attention)',
  tgt: 'int [B, H]: the target layers l+1..l+H (stats-aware, joint, token-aware, attention)',
  prevIds: "int [B, H*P*K]: the previous P tokens' layer-expert ids at each target layer, [h][p][k]; L*E where the sequence has no such token (history P > 0)",
  token: 'int [B, 1]: the vocabulary index of the token (0: not in the vocabulary) (models with a vocabulary)',
  output: 'float [B, H, E]: logits (the ensemble: probabilities); the top-k per step are the experts to prefetch',
};

/** Parameters and constants of a tfjs model, as named tensors. */
export async function tfjsTensors(model: Pick<InterLayerModel, 'params' | 'readWeights'>, prefix = ''): Promise<Record<string, NamedTensor>> {
  const weights = await model.readWeights();
  const out: Record<string, NamedTensor> = {};
  for (const p of model.params) out[prefix + p.name] = { shape: p.variable.shape, data: weights[p.name] };
  return out;
}

export function vocabularyOf(v: Vocabulary | null | undefined): ExportedModel['vocabulary'] {
  return v ? { source: v.source, keys: v.keys } : undefined;
}

/** The first `n` windows (all of them when fewer). */
export function headWindows(w: Windows, n: number): Windows {
  const m = Math.min(n, w.count);
  const { context: C, horizon: H, topK: K } = w;
  const extra = w.extra && Object.fromEntries(Object.entries(w.extra).map(([k, { data, width }]) => [k, { data: data.slice(0, m * width), width }]));
  return {
    ...w,
    count: m,
    ctxExperts: w.ctxExperts.slice(0, m * C * K),
    ctxLayers: w.ctxLayers.slice(0, m * C),
    targetLayers: w.targetLayers.slice(0, m * H),
    targets: w.targets.slice(0, m * H * K),
    ...(extra && { extra }),
  };
}

function rows(a: ArrayLike<number>, width: number, n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: width }, (_, j) => a[i * width + j]));
}

/**
 * Cases from windows: every input the window models read (the base windows and any extras), and the output.
 * `tokenKeys`, where given, is the token id or text of each window's token.
 */
export function windowCases(w: Windows, output: Float32Array, outputKind: ExportCases['outputKind'], tokenKeys?: (number | string | null)[]): ExportCases {
  const { count: n, context: C, horizon: H, topK: K } = w;
  const cases: ExportCases = {
    unit: 'windows',
    outputKind,
    ctxExperts: rows(w.ctxExperts, C * K, n),
    ctxLayers: rows(w.ctxLayers, C, n),
    targetLayers: rows(w.targetLayers, H, n),
    output: Array.from(output),
  };
  for (const [k, { data, width }] of Object.entries(w.extra ?? {})) cases[k] = rows(data, width, n);
  if (tokenKeys && w.extra?.token) {
    cases.tokenKeys = tokenKeys.slice(0, n);
    cases.tokenIndexField = 'token';
  }
  return cases;
}

/** The token id (or text, for a text vocabulary) of every window of `set`, in window order. */
export function windowTokenKeys(
  set: TraceSet,
  vocabulary: Vocabulary | null | undefined,
  perToken: number,
  max: number,
): (number | string | null)[] | undefined {
  if (!vocabulary) return undefined;
  const out: (number | string | null)[] = [];
  for (const c of set.chunks)
    for (let t = 0; t < c.tokens && out.length < max; t++) {
      const key = vocabulary.source === 'id' ? ((c.tokenId?.[t] ?? -1) >= 0 ? c.tokenId![t] : null) : (c.tokenText?.[t] ?? null);
      for (let i = 0; i < perToken && out.length < max; i++) out.push(key);
    }
  return out;
}

/** Parameters (constants excluded) and bytes (float32, all tensors) of an export. */
export function sizeOf(m: ExportedModel): { parameters: number; bytes: number } {
  const constants = new Set(m.constants ?? []);
  let parameters = 0;
  let values = 0;
  for (const [name, t] of Object.entries(m.tensors)) {
    values += t.data.length;
    if (!constants.has(name)) parameters += t.data.length;
  }
  return { parameters, bytes: 4 * values };
}

/** The files of an export: `<name>.safetensors`, `<name>.json` and, with cases, `<name>.cases.json`. */
export function packageExport(
  m: ExportedModel,
  name: string,
  extra: ExportExtra = {},
): { files: Record<string, Uint8Array>; description: PredictorDescription } {
  const { parameters, bytes } = sizeOf(m);
  const description: PredictorDescription = {
    format: PREDICTOR_FORMAT,
    version: 1,
    model: m.model,
    weights: `${name}.safetensors`,
    ...(m.cases && { cases: `${name}.cases.json` }),
    shape: m.shape,
    ...(m.options && { options: m.options }),
    ...(m.vocabulary && { vocabulary: m.vocabulary }),
    ...(m.members && { members: m.members }),
    ...(m.constants?.length && { constants: m.constants }),
    inputs: m.inputs,
    parameters,
    bytes,
    ...extra,
  };
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = {
    [`${name}.safetensors`]: encodeSafetensors(m.tensors, { format: 'pt', producer: 'speclab', model: m.model }),
    [`${name}.json`]: enc.encode(JSON.stringify(description, null, 1) + '\n'),
  };
  if (m.cases) files[`${name}.cases.json`] = enc.encode(JSON.stringify(m.cases) + '\n');
  return { files, description };
}

/** InterLayer's export without cases (kept for callers that hold the model itself). */
export async function exportInterLayer(
  model: InterLayerModel,
  name: string,
  extra: ExportExtra = {},
): Promise<{ safetensors: Uint8Array; description: PredictorDescription }> {
  const { files, description } = packageExport(
    { model: 'interlayer', shape: model.shape, tensors: await tfjsTensors(model), inputs: WINDOW_INPUTS },
    name,
    extra,
  );
  return { safetensors: files[`${name}.safetensors`], description };
}
