/**
 * The sequence model's part of an export (../exportModel.ts): its tensors, shape, vocabulary and reference cases
 * (per token: the inputs of all its windows and their logits); collector/speclab_collect/predictor.py loads it
 * into a PyTorch module with the same logits.
 */
import { encodeSafetensors, type NamedTensor } from '../../core/export/safetensors';
import type { TraceSet } from '../../core/trace/types';
import { DEFAULT_CASES, PREDICTOR_FORMAT, vocabularyOf, type ExportCases, type ExportedModel } from '../exportModel';
import type { Vocabulary } from '../models/vocabulary';
import { hasTokensWindow } from '../../core/predictors/window';
import { buildTokenInputs, fillTokensWindow, TOKEN_HISTORY } from './inputs';
import type { NextTokensNet } from './tokensNet';
import type { NetShape, SequenceNet } from './net';

export const SEQUENCE_INPUTS: Record<string, string> = {
  experts: "int [B, L, K]: the token's top-k expert ids per MoE layer (only layers <= l are read for window l)",
  prevExperts: 'int [B, L, K]: the previous token of the sequence (position p-1), any values where hasPrev is false',
  hasPrev: 'bool [B]',
  nextExperts: 'int [B, L, K]: prefill models (shape.next) only: the next token of the sequence (position p+1), any values where hasNext is false',
  hasNext: 'bool [B]: prefill models only',
  tokens: 'int [B, 3]: vocabulary indices of tokens t, t-1, t-2 (0: unknown or none); ignored when vocab is 0',
  output: 'logits [B, W, H, E] for the windows l = context-1 .. numLayers-1-horizon, target layer l+1+h',
};

/** Cases from the first tokens of `set`: enough for about `windows` windows, at least 4 tokens. */
function sequenceCases(net: SequenceNet, set: TraceSet, vocabulary: Vocabulary | null, windows: number): ExportCases {
  const { numLayers: L, topK: K, numExperts: E } = net.shape;
  const x = buildTokenInputs(set, vocabulary);
  const W = net.last - net.first + 1;
  const n = Math.min(x.n, Math.max(4, Math.ceil(windows / W)));
  const rows = Array.from({ length: n }, (_, i) => i);
  const routing = (r: number) => Array.from({ length: L }, (_, l) => Array.from(x.experts.subarray((r * L + l) * K, (r * L + l + 1) * K)));
  const out = new Float32Array(net.shape.horizon * E);
  const output: number[] = [];
  for (const r of rows)
    for (let l = net.first; l <= net.last; l++) {
      net.predict(x, r, l, out);
      output.push(...out);
    }
  const Q = 1 + TOKEN_HISTORY;
  const cases: ExportCases = {
    unit: 'tokens',
    outputKind: 'logits',
    experts: rows.map(routing),
    prevExperts: rows.map((r) => routing(x.prev[r] >= 0 ? x.prev[r] : r)),
    hasPrev: rows.map((r) => x.prev[r] >= 0),
    output,
  };
  if (net.shape.next) {
    // Prefill: the next token of the sequence (only layer l is read for window l).
    cases.nextExperts = rows.map((r) => routing(x.next[r] >= 0 ? x.next[r] : r));
    cases.hasNext = rows.map((r) => x.next[r] >= 0);
  }
  if (vocabulary) {
    cases.tokens = rows.map((r) => Array.from(x.tokens.subarray(r * Q, (r + 1) * Q)));
    const keys: (number | string | null)[] = [];
    for (const c of set.chunks)
      for (let t = 0; t < c.tokens && keys.length < n; t++)
        keys.push(vocabulary.source === 'id' ? ((c.tokenId?.[t] ?? -1) >= 0 ? c.tokenId![t] : null) : (c.tokenText?.[t] ?? null));
    cases.tokenKeys = keys;
    cases.tokenIndexField = 'tokens';
  }
  return cases;
}

export function sequenceExportModel(net: SequenceNet, vocabulary: Vocabulary | null, sample?: { set: TraceSet; count?: number }): ExportedModel {
  const tensors: Record<string, NamedTensor> = {};
  for (const [k, t] of Object.entries(net.tensors())) tensors[k] = { shape: t.dims, data: t.data.slice() };
  return {
    model: 'sequence',
    shape: net.shape,
    tensors,
    ...(vocabulary && { vocabulary: vocabularyOf(vocabulary) }),
    inputs: SEQUENCE_INPUTS,
    ...(sample && { cases: sequenceCases(net, sample.set, vocabulary, sample.count ?? DEFAULT_CASES) }),
  };
}

export interface SequenceDescription {
  format: typeof PREDICTOR_FORMAT;
  version: 1;
  model: 'sequence';
  weights: string;
  shape: NetShape;
  inputs: Record<string, string>;
  trainedOn?: { model: string; numLayers: number; numExperts: number; topK: number; tokens?: number };
  hyperparameters?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

/** The weights file and description of a net without cases (kept for callers that hold the net itself). */
export function exportSequence(
  net: SequenceNet,
  name: string,
  extra: Pick<SequenceDescription, 'trainedOn' | 'hyperparameters' | 'metrics'> = {},
): { safetensors: Uint8Array; description: SequenceDescription } {
  const tensors: Record<string, NamedTensor> = {};
  for (const [k, t] of Object.entries(net.tensors())) tensors[k] = { shape: t.dims, data: t.data };
  return {
    safetensors: encodeSafetensors(tensors, { format: 'pt', producer: 'speclab' }),
    description: {
      format: PREDICTOR_FORMAT,
      version: 1,
      model: 'sequence',
      weights: `${name}.safetensors`,
      shape: net.shape,
      inputs: SEQUENCE_INPUTS,
      ...extra,
    },
  };
}

export const TOKENS_INPUTS: Record<string, string> = {
  context: 'int [B, C, L, K]: experts of tokens t, t-1, ..., t-C+1 per MoE layer (c = 0 is the current token)',
  tokens: 'int [B, 3]: vocabulary indices of tokens t, t-1, t-2 (0: unknown or none); ignored when vocab is 0',
  future: 'int [B, H]: vocabulary indices of tokens t+1..t+H (prefill; zeros and ignored in decode)',
  output: 'logits [B, H, L, E]: every layer of tokens t+1..t+H',
};

/** The next-tokens sequence model's export (shape.taskKind 'tokens'); cases from the first windows of `sample`. */
export function tokensExportModel(net: NextTokensNet, vocabulary: Vocabulary | null, sample?: { set: TraceSet; count?: number }): ExportedModel {
  const tensors: Record<string, NamedTensor> = {};
  for (const [k, t] of Object.entries(net.tensors())) tensors[k] = { shape: t.dims, data: t.data.slice() };
  const { numLayers: L, numExperts: E, topK: K, context: C, horizon: H } = net.shape;
  let cases: ExportCases | undefined;
  if (sample) {
    const x = buildTokenInputs(sample.set, vocabulary);
    const rows = Array.from({ length: x.n }, (_, r) => r)
      .filter((r) => hasTokensWindow(x, r, C, H))
      .slice(0, Math.max(4, sample.count ?? DEFAULT_CASES));
    const win = { context: new Int16Array(C * L * K), tokens: new Int32Array(1 + TOKEN_HISTORY), future: new Int32Array(H) };
    const out = new Float32Array(H * L * E);
    const c: { context: number[][][][]; tokens: number[][]; future: number[][]; output: number[] } = { context: [], tokens: [], future: [], output: [] };
    for (const r of rows) {
      fillTokensWindow(x, r, L, K, C, H, net.shape.future, win, null);
      net.predict(win, out);
      c.context.push(
        Array.from({ length: C }, (_, ci) => Array.from({ length: L }, (_, l) => Array.from(win.context.subarray((ci * L + l) * K, (ci * L + l + 1) * K)))),
      );
      c.tokens.push(Array.from(win.tokens));
      c.future.push(Array.from(win.future));
      c.output.push(...out);
    }
    cases = { unit: 'tokens', outputKind: 'logits', ...c };
  }
  return {
    model: 'sequence',
    shape: { ...net.shape, taskKind: 'tokens' },
    tensors,
    ...(vocabulary && { vocabulary: vocabularyOf(vocabulary) }),
    inputs: TOKENS_INPUTS,
    ...(cases && { cases }),
  };
}
