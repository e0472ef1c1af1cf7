/**
 * Exports a trained InterLayer model for inference runtimes: weights as safetensors and a JSON description
 * (shape, the trace it was trained on, hyperparameters, metrics). collector/speclab_collect/predictor.py
 * loads the pair into a PyTorch module that gives the same logits.
 */
import { encodeSafetensors, type NamedTensor } from '../core/export/safetensors';
import type { InterLayerModel } from './interLayerModel';

export const PREDICTOR_FORMAT = 'speclab-predictor';

export interface PredictorDescription {
  format: typeof PREDICTOR_FORMAT;
  version: 1;
  model: 'interlayer';
  /** File name of the weights, beside this description. */
  weights: string;
  shape: InterLayerModel['shape'];
  /** Inputs, as the PyTorch module takes them. */
  inputs: Record<string, string>;
  trainedOn?: { model: string; numLayers: number; numExperts: number; topK: number; tokens?: number };
  hyperparameters?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export async function exportInterLayer(
  model: InterLayerModel,
  name: string,
  extra: Pick<PredictorDescription, 'trainedOn' | 'hyperparameters' | 'metrics'> = {},
): Promise<{ safetensors: Uint8Array; description: PredictorDescription }> {
  const weights = await model.readWeights();
  const tensors: Record<string, NamedTensor> = {};
  for (const p of model.params) tensors[p.name] = { shape: p.variable.shape, data: weights[p.name] };
  const description: PredictorDescription = {
    format: PREDICTOR_FORMAT,
    version: 1,
    model: 'interlayer',
    weights: `${name}.safetensors`,
    shape: model.shape,
    inputs: {
      ctxExperts: 'int [B, C*K]: the top-k expert ids of context layers l-C+1..l, layer-major',
      ctxLayers: 'int [B, C]: the MoE layer index of each context layer',
      targetLayers: 'int [B, H]: the MoE layer index of each predicted layer l+1..l+H',
      output: 'float [B, H, E]: logits; the top-k per step are the experts to prefetch',
    },
    ...extra,
  };
  return { safetensors: encodeSafetensors(tensors, { format: 'pt', producer: 'speclab' }), description };
}
