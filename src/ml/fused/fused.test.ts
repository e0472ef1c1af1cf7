import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { layerChainTrace } from '../testTrace';
import { TrainingSession } from '../trainingSession';
import type { EquivalenceReport } from './equivalence';
import { fusedLayout } from './layout';
import { kernels } from './shaders';

/** A folder with a Vulkan loader and SwiftShader's Vulkan driver (Chromium ships both), for WebGPU on the CPU. */
function swiftShaderDir(): string | null {
  const pw = join(homedir(), '.cache', 'ms-playwright');
  const dirs = [
    '/usr/lib/chromium',
    ...(existsSync(pw)
      ? readdirSync(pw)
          .filter((d) => d.startsWith('chromium'))
          .map((d) => join(pw, d, 'chrome-linux'))
      : []),
  ];
  return dirs.find((d) => existsSync(join(d, 'libvulkan.so.1')) && existsSync(join(d, 'vk_swiftshader_icd.json'))) ?? null;
}

const shape = { numLayers: 7, numExperts: 6, topK: 2, context: 3, horizon: 2, embeddingDim: 12, hiddenUnits: 20, layerSpecificHeads: true };

describe('fused InterLayer training step', () => {
  it('lays the LSTM weights out as one [W; b; U] matrix and every parameter back to back', () => {
    const l = fusedLayout(shape, 16);
    const names = l.params.map((p) => p.name);
    expect(names).toEqual(['expertEmbedding', 'layerEmbedding', 'lstmKernel', 'lstmBias', 'lstmRecurrent', 'headKernel', 'headBias']);
    l.params.forEach((p, i) => expect(p.offset).toBe(i ? l.params[i - 1].offset + l.params[i - 1].size : 0));
    expect(l.p.U - l.p.W).toBe((l.D + 1) * l.G);
    expect(l.p.HB - l.p.HK).toBe(l.U * l.NH);
    expect(l.NH).toBe(2 * 7 * 6);
    expect(l.params.filter((p) => p.decay).map((p) => p.name)).toEqual(['lstmKernel', 'lstmRecurrent', 'headKernel']);
    // Every kernel binds only what the trainer provides, and bakes the shape in as constants.
    for (const k of kernels(l)) {
      expect(k.code).toContain(`const U: u32 = ${l.U}u;`);
      expect(new Set(k.binds).size).toBe(k.binds.length);
    }
  });

  it('is not used off WebGPU: the CPU backend trains with tfjs ops', async () => {
    await tf.setBackend('cpu');
    const s = new TrainingSession(layerChainTrace({ tokens: 6, numLayers: 6, numExperts: 4, topK: 2 }), {
      epochs: 1,
      hiddenUnits: 4,
      embeddingDim: 4,
      valFraction: 0,
    });
    expect(s.trainingPath).toBe('tfjs');
    s.dispose();
  });

  // WebGPU in Node through Dawn on SwiftShader: a child process, since the Vulkan loader's path is read at start-up.
  const dir = swiftShaderDir();
  it.skipIf(!dir)(
    'computes the same gradients and trains to the same weights as the tfjs path (WebGPU on SwiftShader)',
    () => {
      const r = spawnSync(process.execPath, [join('node_modules', 'tsx', 'dist', 'cli.mjs'), join('src', 'ml', 'fused', 'checkEquivalence.ts')], {
        env: { ...process.env, LD_LIBRARY_PATH: dir!, VK_ICD_FILENAMES: join(dir!, 'vk_swiftshader_icd.json') },
        encoding: 'utf8',
        timeout: 480_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as EquivalenceReport;
      expect(report.validationError).toBeNull();
      expect(report.gradients.map((g) => g.case)).toEqual(['layer-specific heads, full batch', 'layer-specific heads, ragged batch']);
      for (const g of report.gradients) {
        expect(g.tfjsWorkKept, g.case).toBe(true);
        expect(Object.keys(g.errors)).toHaveLength(7);
        for (const [name, err] of Object.entries(g.errors)) expect(err, `${g.case}: ${name}`).toBeLessThan(1e-4);
      }
      for (const t of report.training) {
        expect(t.steps).toBeGreaterThan(2);
        for (const [name, err] of Object.entries(t.weights)) expect(err, `${t.case}: ${name}`).toBeLessThan(1e-4);
        expect(t.trainLoss).toBeLessThan(1e-5);
        expect(t.valLoss).toBeLessThan(1e-5);
        expect(t.trainRecall).toBeLessThan(1e-5);
      }
      // Stopped twice and resumed (dropout on): the same weights as an uninterrupted run.
      expect(report.resume!.stoppedAt).toBeGreaterThan(2);
      expect(report.resume!.steps).toBe(report.training[0].steps);
      for (const [name, err] of Object.entries(report.resume!.weights)) expect(err, `resume: ${name}`).toBeLessThan(1e-6);
    },
    500_000,
  );
});
