import { describe, expect, it } from 'vitest';
import { backendOrder, DEFAULT_INTERLAYER, interLayerConfigSchema, parseInterLayerConfig } from './config';

describe('InterLayer config', () => {
  it('defaults to the reference design', () => {
    expect(DEFAULT_INTERLAYER).toMatchObject({ lr: 1e-4, lrSchedule: 'cosine', weightDecay: 0.01, clipNorm: 1, dropout: 0.1, context: 3, horizon: 2, batchSize: 16 });
    expect(parseInterLayerConfig({})).toEqual(DEFAULT_INTERLAYER);
    expect(parseInterLayerConfig({ lr: 0.003, layerSpecificHeads: true })).toMatchObject({ lr: 0.003, layerSpecificHeads: true, epochs: 5 });
  });

  it.each([
    [{ lr: 0 }, 'lr'],
    [{ lr: 2 }, 'lr'],
    [{ epochs: 0 }, 'epochs'],
    [{ epochs: 2.5 }, 'epochs'],
    [{ dropout: 1 }, 'dropout'],
    [{ hiddenUnits: 1e6 }, 'hiddenUnits'],
    [{ batchSize: -1 }, 'batchSize'],
    [{ valFraction: 0.9 }, 'valFraction'],
    [{ seed: -1 }, 'seed'],
    [{ weightDecay: Number.NaN }, 'weightDecay'],
    [{ lrSchedule: 'step' }, 'lrSchedule'],
    [{ learningRate: 0.1 }, 'learningRate'],
    [{ earlyStoppingPatience: 2, valFraction: 0 }, 'earlyStoppingPatience'],
    ['{}', '(root)'],
  ])('rejects %j', (bad, field) => {
    expect(() => parseInterLayerConfig(bad)).toThrow(field);
  });

  it('is a plain object schema others can extend', () => {
    expect(Object.keys(interLayerConfigSchema.shape)).toContain('hiddenUnits');
  });

  it('orders backends: auto best first, a named one first', () => {
    expect(backendOrder()).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(backendOrder('wasm')).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
  });
});
