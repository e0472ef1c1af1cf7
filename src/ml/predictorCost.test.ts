// A learned predictor's cost (predictorCost.ts) and the layer time it is set against (layerTime.ts).
import { describe, expect, it } from 'vitest';
import { MIXTRAL_3090 } from '../core/metrics/offload';
import { layerChainTrace } from './testTrace';
import type { LearnedPredictor } from './interLayerPredictor';
import { bytesPerWeight, layerTimeOf } from './layerTime';
import { firstTokens, isGpuBackend, measureCost } from './predictorCost';

const shape = (name: string, numLayers: number, numExperts: number, topK: number, quantization = 'unknown') => ({
  model: { name },
  numLayers,
  numExperts,
  topK,
  quantization,
});

describe('layer time', () => {
  it("Mixtral-8x7B: the layer sizes give the published 12.9B active parameters, and 8 bit on the RTX 3090 the cache model's layer time", () => {
    const t = layerTimeOf(shape('unknown', 32, 8, 2, 'fp8'))!;
    expect(t.model).toBe('Mixtral-8x7B');
    // 32 layers plus the input and output embeddings (32000 x 4096 each): Mistral AI states 12.9B active parameters.
    expect((32 * t.activeParametersPerLayer + 2 * 32000 * 4096) / 1e9).toBeCloseTo(12.9, 1);
    expect(t.bytesPerWeight).toBe(1);
    expect(t.ms).toBeCloseTo((t.activeParametersPerLayer / 936e9) * 1e3, 12);
    // src/core/metrics/offload.ts takes 0.45 ms for a resident Mixtral layer on the same GPU.
    expect(Math.abs(t.ms - MIXTRAL_3090.computeMsPerLayer) / MIXTRAL_3090.computeMsPerLayer).toBeLessThan(0.1);
    expect(t.how).toContain('quantization fp8');
  });

  it('knows DeepSeek-V2-Lite by its shape and the demo model by name; bf16 when the trace does not say; null for others', () => {
    const ds = layerTimeOf(shape('unknown', 26, 64, 6))!;
    expect(ds.model).toBe('DeepSeek-V2-Lite');
    // MLA attention 13.76M + router 0.13M + (6 routed + 2 shared) SwiGLU experts of 2048 x 1408.
    expect(ds.activeParametersPerLayer).toBe(13_762_560 + 2048 * 64 + 8 * 3 * 2048 * 1408);
    expect(ds.bytesPerWeight).toBe(2);
    expect(ds.how).toContain('bf16 assumed');
    expect(layerTimeOf(shape('speclab-demo/mixtral-tiny-bytes', 6, 8, 2, 'fp32'))!.bytesPerWeight).toBe(4);
    expect(layerTimeOf(shape('mistralai/Mixtral-8x22B-v0.1', 56, 8, 2))).toBeNull();
    expect(layerTimeOf(shape('some/model', 12, 16, 4))).toBeNull();
    expect([bytesPerWeight('int4'), bytesPerWeight('bf16'), bytesPerWeight('int8'), bytesPerWeight('free text')]).toEqual([0.5, 2, 1, null]);
  });
});

describe('measureCost', () => {
  it('sizes from the export, the median of the timed batches after a warm-up, per token and per window', async () => {
    const set = layerChainTrace({ tokens: 100, numLayers: 8, numExperts: 8, topK: 2, seqLen: 30 });
    const task = { context: 3, horizon: 2 };
    const prepared: number[] = [];
    let scored = 0;
    const p = {
      name: 'fake',
      kind: 'learned',
      training: null,
      session: null,
      async fit() {},
      async prepare(s) {
        prepared.push(s.chunks.reduce((a, c) => a + c.tokens, 0));
      },
      score(_ctx, _t, out) {
        scored++;
        out.fill(0);
      },
      async exportModel() {
        return {
          model: 'fake',
          shape: {},
          inputs: {},
          tensors: { w: { shape: [3, 4], data: new Float32Array(12) }, stats: { shape: [5], data: new Float32Array(5) } },
          constants: ['stats'],
        };
      },
      dispose() {},
    } as LearnedPredictor;
    // Batch lengths 100 (warm-up), then 10, 30, 20, 50, 40 ms: the median is 30.
    const ticks = [0, 100, 100, 110, 110, 140, 140, 160, 160, 210, 210, 250];
    let i = 0;
    const c = await measureCost(p, set, task, { backend: 'wasm', tokens: 40, now: () => ticks[i++] });
    expect(prepared).toEqual([40, 40, 40, 40, 40, 40]);
    expect(scored).toBe(6 * 40 * 4 * 2); // 6 batches, 40 tokens, windows l = 2..5, 2 steps
    expect(c).toMatchObject({
      parameters: 12,
      bytes: 68,
      device: 'cpu',
      backend: 'wasm',
      batches: 5,
      tokensPerBatch: 40,
      batchMs: [10, 30, 20, 50, 40],
      layer: null,
      windowToLayer: null,
    });
    expect(c.inferenceMsPerToken).toBeCloseTo(30 / 40, 12);
    expect(c.inferenceMsPerWindow).toBeCloseTo(30 / 40 / 4, 12);
  });

  it('GPU backends are GPUs; the first tokens cut across chunks', () => {
    expect([isGpuBackend('webgpu'), isGpuBackend('webgl'), isGpuBackend('wasm'), isGpuBackend('cpu (TypeScript engine)')]).toEqual([true, true, false, false]);
    const set = layerChainTrace({ tokens: 50, numLayers: 6, numExperts: 8, topK: 2 });
    const two = { manifest: set.manifest, chunks: [set.chunks[0], set.chunks[0]] };
    const cut = firstTokens(two, 70);
    expect(cut.chunks.map((c) => c.tokens)).toEqual([50, 20]);
    expect(Array.from(cut.chunks[1].experts)).toEqual(Array.from(set.chunks[0].experts.subarray(0, 20 * 12)));
  });
});
