import { describe, expect, it } from 'vitest';
import { fastestPath, parseTrainArgs, runTrainBench, steadyRate, UsageError } from './train-bench';

describe('bench --train arguments', () => {
  it('takes every option, with defaults for the rest', () => {
    const a = parseTrainArgs([
      '--train',
      '--device',
      'gpu',
      '--model',
      'interlayer',
      '--windows',
      '1000',
      '--epochs',
      '3',
      '--batch',
      '64',
      '--hidden',
      '128',
      '--layers',
      '26',
      '--experts',
      '64',
      '--topk',
      '6',
      '--json',
    ]);
    expect(a).toMatchObject({
      device: 'gpu',
      model: 'interlayer',
      windows: 1000,
      epochs: 3,
      batch: 64,
      hidden: 128,
      layers: 26,
      experts: 64,
      topk: 6,
      json: true,
    });
    expect(parseTrainArgs(['--device', 'cpu', '--model', 'sequence'])).toMatchObject({
      windows: 51_200,
      epochs: 4,
      batch: 256,
      hidden: 256,
      layers: 32,
      experts: 8,
      topk: 2,
      context: 3,
      horizon: 2,
      json: false,
    });
  });

  it.each([
    [['--model', 'interlayer'], /--device is required/],
    [['--device', 'tpu', '--model', 'interlayer'], /--device must be cpu or gpu/],
    [['--device', 'cpu'], /--model is required/],
    [['--device', 'cpu', '--model', 'lstm'], /--model must be one of/],
    [['--device', 'cpu', '--model', 'joint', '--batch', '0'], /--batch must be at least 1/],
    [['--device', 'cpu', '--model', 'joint', '--batch', '1.5'], /--batch must be a whole number/],
    [['--device', 'cpu', '--model', 'joint', '--epochs', '1'], /at least 2/],
    [['--device', 'cpu', '--model', 'joint', '--topk', '9'], /--topk \(9\) must not exceed --experts \(8\)/],
    [['--device', 'cpu', '--model', 'joint', '--layers', '4'], /must not exceed --layers/],
    [['--device', 'cpu', '--model', 'joint', '--windows'], /--windows needs a value/],
    [['--device', 'cpu', '--model', 'joint', '--frobnicate', '1'], /unknown option --frobnicate/],
    [['--device', 'cpu', '--device', 'gpu', '--model', 'joint'], /given twice/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseTrainArgs(argv)).toThrow(UsageError);
    expect(() => parseTrainArgs(argv)).toThrow(msg);
  });

  it('picks the fastest path per device', () => {
    expect(fastestPath('gpu', 'interlayer')).toEqual({ backend: 'webgpu', fused: true });
    expect(fastestPath('gpu', 'joint')).toEqual({ backend: 'webgpu', fused: false });
    expect(fastestPath('cpu', 'interlayer')).toEqual({ backend: 'wasm', fused: false });
    expect(fastestPath('cpu', 'sequence').backend).toBeNull();
    expect(fastestPath('gpu', 'sequence').note).toMatch(/no GPU path/);
  });

  it('counts the median of the epochs after the first', () => {
    expect(steadyRate([1, 10, 30, 20])).toBe(20);
    expect(steadyRate([1, 10, 30])).toBe(20);
    expect(steadyRate([5])).toBeNaN();
  });

  it('prints one JSON object with samplesPerSecond (sequence model on the CPU engine)', async () => {
    const r = await runTrainBench(parseTrainArgs(['--device', 'cpu', '--model', 'sequence', '--windows', '2000', '--epochs', '2', '--hidden', '16', '--json']));
    const line = JSON.stringify(r);
    expect(line).not.toContain('\n');
    const j = JSON.parse(line);
    expect(j).toMatchObject({ bench: 'train', device: 'cpu', model: 'sequence', path: 'cpu', backend: 'none' });
    expect(j.epochs).toHaveLength(2);
    expect(j.samplesPerSecond).toBe(j.epochs[1]);
    expect(j.samplesPerSecond).toBeGreaterThan(0);
    expect(j.windows).toBeGreaterThanOrEqual(2000);
    expect(j.shape).toEqual({ L: 32, E: 8, K: 2, C: 3, H: 2, batch: 256, hidden: 16, embedding: 32 });
  });
});
