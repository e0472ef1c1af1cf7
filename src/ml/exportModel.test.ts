// The exported predictor gives the same logits in PyTorch (collector/speclab_collect/predictor.py) as in tfjs.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/experiment/rng';
import { decodeSafetensors } from '../core/export/safetensors';
import { exportInterLayer } from './exportModel';
import { InterLayerModel } from './interLayerModel';

const run = promisify(execFile);

describe('InterLayer export', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const layerSpecificHeads of [false, true]) {
    it(`PyTorch reproduces the tfjs logits (layer-specific heads: ${layerSpecificHeads})`, async () => {
      const shape = { numLayers: 6, numExperts: 16, topK: 2, context: 3, horizon: 2, embeddingDim: 8, hiddenUnits: 12, layerSpecificHeads };
      const model = new InterLayerModel(shape, 5);
      // Spread the weights so the logits are far apart: the test compares top-k sets, which near-ties would blur.
      const rnd = createRng(9);
      for (const p of model.params) p.variable.assign(tf.tensor(Float32Array.from({ length: p.variable.size }, () => (rnd() * 2 - 1) * 0.8), p.variable.shape));
      const B = 32;
      const ctxExperts: number[] = [];
      const ctxLayers: number[] = [];
      const targetLayers: number[] = [];
      for (let b = 0; b < B; b++) {
        const l = 2 + (b % 2); // last context layer: 2 or 3 (targets 3..5)
        for (let s = 0; s < 3; s++) {
          const a = Math.floor(rnd() * 16);
          ctxExperts.push(a, (a + 1 + Math.floor(rnd() * 15)) % 16);
          ctxLayers.push(l - 2 + s);
        }
        targetLayers.push(l + 1, l + 2);
      }
      const batch = { ctxExperts: tf.tensor2d(ctxExperts, [B, 6], 'int32'), ctxLayers: tf.tensor2d(ctxLayers, [B, 3], 'int32'), targetLayers: tf.tensor2d(targetLayers, [B, 2], 'int32') };
      const logits = Array.from(await model.forward(batch, null).data());
      const dir = mkdtempSync(join(tmpdir(), 'speclab-export-'));
      const { safetensors, description } = await exportInterLayer(model, 'interlayer', { trainedOn: { model: 'test', numLayers: 6, numExperts: 16, topK: 2 } });
      expect(Object.keys(decodeSafetensors(safetensors).tensors).sort()).toEqual(model.params.map((p) => p.name).sort());
      writeFileSync(join(dir, 'interlayer.safetensors'), safetensors);
      writeFileSync(join(dir, 'interlayer.json'), JSON.stringify(description));
      writeFileSync(join(dir, 'cases.json'), JSON.stringify({ ctxExperts: chunk(ctxExperts, 6), ctxLayers: chunk(ctxLayers, 3), targetLayers: chunk(targetLayers, 2), logits }));
      const { stdout } = await run('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, 'interlayer.json'), join(dir, 'cases.json')]);
      const r = JSON.parse(stdout);
      expect(r.samples).toBe(B);
      expect(r.maxAbsDiff).toBeLessThan(1e-4);
      expect(r.sameTopK).toBe(true);
      model.dispose();
    }, 120_000);
  }
});

function chunk(a: number[], n: number): number[][] {
  return Array.from({ length: a.length / n }, (_, i) => a.slice(i * n, (i + 1) * n));
}
