import { resolveSchedule } from './schedule';
import { scheduleConfigOf } from './config';
import { describe, expect, it } from 'vitest';
import { backendOrder, DEFAULT_INTERLAYER, interLayerConfigSchema, parseInterLayerConfig } from './config';

describe('InterLayer config', () => {
  it('defaults to a schedule chosen from the data, the rest at the reference design', () => {
    expect(DEFAULT_INTERLAYER).toMatchObject({
      preset: 'auto',
      lr: 'auto',
      epochs: 'auto',
      batchSize: 'auto',
      earlyStoppingPatience: 'auto',
      lrSchedule: 'cosine',
      weightDecay: 0.01,
      clipNorm: 1,
      dropout: 0.1,
      context: 3,
      horizon: 2,
    });
    expect(parseInterLayerConfig({})).toEqual(DEFAULT_INTERLAYER);
    expect(parseInterLayerConfig({ lr: 0.003, layerSpecificHeads: true })).toMatchObject({ lr: 0.003, layerSpecificHeads: true, epochs: 'auto' });
    expect(() => parseInterLayerConfig({ lr: 'fast' })).toThrow(/lr/);
  });

  it('resolves auto from the data, the reference preset to the reference design, and a set value over both', () => {
    const data = { trainTokens: 20000, windowsPerToken: 22, hasValidation: true };
    const auto = resolveSchedule(scheduleConfigOf(parseInterLayerConfig({})), data);
    expect(auto).toMatchObject({ lr: 3e-3, batchSize: 128, epochs: 6, patience: 5, from: { lr: 'auto', epochs: 'auto' } });
    expect(auto.warmupSteps).toBeGreaterThan(0);
    // Per-window models: a budget of windows, a large set sampled to whole sequences.
    const windows = resolveSchedule(scheduleConfigOf(parseInterLayerConfig({})), data, 'windows');
    expect(windows.maxTrainTokens).toBeLessThan(data.trainTokens);
    expect(windows.epochs).toBe(4);
    const ref = resolveSchedule(scheduleConfigOf(parseInterLayerConfig({ preset: 'reference' })), data, 'windows');
    expect(ref).toMatchObject({ lr: 1e-4, batchSize: 16, epochs: 5, patience: 0, warmupSteps: 0, maxTrainTokens: Infinity, from: { lr: 'reference' } });
    const set = resolveSchedule(scheduleConfigOf(parseInterLayerConfig({ preset: 'reference', epochs: 2 })), data);
    expect(set).toMatchObject({ epochs: 2, lr: 1e-4, from: { epochs: 'config', lr: 'reference' } });
    // Small data: more epochs, smaller batches, early stopping only with a validation split.
    const small = resolveSchedule(scheduleConfigOf(parseInterLayerConfig({})), { trainTokens: 150, windowsPerToken: 28, hasValidation: false });
    expect(small).toMatchObject({ batchSize: 8, epochs: 60, patience: 0 });
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
