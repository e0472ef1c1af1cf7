/**
 * Exports a trained sequence model like InterLayer's (../exportModel.ts): weights as safetensors and a JSON
 * description; collector/speclab_collect/predictor.py loads the pair into a PyTorch module with the same logits.
 */
import { encodeSafetensors, type NamedTensor } from '../../core/export/safetensors';
import { PREDICTOR_FORMAT } from '../exportModel';
import type { NetShape, SequenceNet } from './net';

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
      inputs: {
        experts: "int [B, L, K]: the token's top-k expert ids per MoE layer (only layers <= l are read for window l)",
        prevExperts: 'int [B, L, K]: the previous token of the sequence (position p-1), any values where hasPrev is false',
        hasPrev: 'bool [B]',
        tokens: 'int [B, 3]: vocabulary indices of tokens t, t-1, t-2 (0: unknown or none); ignored when vocab is 0',
        output: 'logits [B, W, H, E] for the windows l = context-1 .. numLayers-1-horizon, target layer l+1+h',
      },
      ...extra,
    },
  };
}
