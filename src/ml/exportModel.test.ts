// The exported predictors give the same outputs in PyTorch (collector/speclab_collect/predictor.py) as in SpecLab.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/experiment/rng';
import { decodeSafetensors } from '../core/export/safetensors';
import type { PredictionContext } from '../core/predictors/types';
import { splitBySequence, windowLayers } from '../core/tasks/task';
import { importFiles } from '../core/trace/importers';
import type { TraceSet } from '../core/trace/types';
import { LEARNED_PREDICTORS } from './config';
import { exportInterLayer, packageExport, type ExportCases, type PredictorDescription } from './exportModel';
import { InterLayerModel } from './interLayerModel';
import { LEARNED, type LearnedPredictor } from './learnedPredictor';

const run = promisify(execFile);
const REAL = new URL('../../../shared/traces-real/', import.meta.url).pathname;
/** DeepSeek-V2-Lite prompts 1..n (26 MoE layers, 64 experts, top-6, token text), imported from the shared hook CSVs. */
function deepseek(n: number): TraceSet {
  const dir = `${REAL}deepseek-v2-lite-chat/puffin-1-100/`;
  return importFiles(
    Array.from({ length: n }, (_, i) => ({ name: `prompt_${i + 1}_data.csv`, data: readFileSync(`${dir}prompt_${i + 1}_data.csv`) })),
    'hook-csv',
  ).set;
}

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
      for (const p of model.params)
        p.variable.assign(
          tf.tensor(
            Float32Array.from({ length: p.variable.size }, () => (rnd() * 2 - 1) * 0.8),
            p.variable.shape,
          ),
        );
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
      const batch = {
        ctxExperts: tf.tensor2d(ctxExperts, [B, 6], 'int32'),
        ctxLayers: tf.tensor2d(ctxLayers, [B, 3], 'int32'),
        targetLayers: tf.tensor2d(targetLayers, [B, 2], 'int32'),
      };
      const logits = Array.from(await model.forward(batch, null).data());
      const dir = mkdtempSync(join(tmpdir(), 'speclab-export-'));
      const { safetensors, description } = await exportInterLayer(model, 'interlayer', { trainedOn: { model: 'test', numLayers: 6, numExperts: 16, topK: 2 } });
      expect(Object.keys(decodeSafetensors(safetensors).tensors).sort()).toEqual(model.params.map((p) => p.name).sort());
      expect(description.parameters).toBe(model.params.reduce((a, p) => a + p.variable.size, 0));
      writeFileSync(join(dir, 'interlayer.safetensors'), safetensors);
      writeFileSync(join(dir, 'interlayer.json'), JSON.stringify(description));
      writeFileSync(
        join(dir, 'cases.json'),
        JSON.stringify({ ctxExperts: chunk(ctxExperts, 6), ctxLayers: chunk(ctxLayers, 3), targetLayers: chunk(targetLayers, 2), logits }),
      );
      const { stdout } = await run('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, 'interlayer.json'), join(dir, 'cases.json')]);
      const r = JSON.parse(stdout);
      expect(r.samples).toBe(B);
      expect(r.maxAbsDiff).toBeLessThan(1e-4);
      expect(r.sameTopK).toBe(true);
      model.dispose();
    }, 120_000);
  }
});

/**
 * The scores the predictor itself gives (score(), as eval ranks experts) for the cases' windows, in the cases'
 * layout: the first tokens of `set` in order, every window of each, every horizon step.
 */
function predictorScores(p: LearnedPredictor, set: TraceSet, cases: ExportCases, horizon: number): number[] {
  const { numLayers: L, numExperts: E, topK: K } = set.manifest;
  const { first, last } = windowLayers(L, { context: 3, horizon });
  const perToken = last - first + 1;
  const windows = cases.output.length / (horizon * E);
  const tokens = Math.ceil(windows / perToken);
  const out: number[] = [];
  const buf = new Float64Array(E);
  const c = set.chunks[0];
  expect(c.tokens).toBeGreaterThanOrEqual(tokens);
  for (let t = 0; t < tokens; t++) {
    const token = c.experts.subarray(t * L * K, (t + 1) * L * K);
    const prev = t > 0 && c.seq[t - 1] === c.seq[t] && c.pos[t - 1] + 1 === c.pos[t] ? c.experts.subarray((t - 1) * L * K, t * L * K) : null;
    for (let l = first; l <= last && out.length < cases.output.length; l++)
      for (let h = 0; h < horizon; h++) {
        p.score({ token, prev, layer: l, row: t, ahead: 0 } as PredictionContext, l + 1 + h, buf);
        out.push(...buf);
      }
  }
  return out;
}

describe('every learned model exports', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('trained on real routing, each export holds its weights, and PyTorch gives the same outputs on real windows (collector/tests/test_predictor.py)', async () => {
    const set = deepseek(4);
    const { train, test } = splitBySequence(set, 0.25, 0);
    const task = { context: 3, horizon: 2 };
    // SPECLAB_EXPORT_DIR: the pytest asked for the files (it runs this test to get them); else this test runs the pytest.
    const outDir = process.env.SPECLAB_EXPORT_DIR;
    const dir = outDir ?? mkdtempSync(join(tmpdir(), 'speclab-export-all-'));
    const config = { epochs: 1, embeddingDim: 8, hiddenUnits: 16, vocabSize: 256 };
    const exported: string[] = [];
    for (const name of LEARNED_PREDICTORS) {
      const p = LEARNED[name](set.manifest, 0, { config });
      await p.fit(train, task);
      const m = await p.exportModel!({ set: test, task, count: 48 });
      expect(m.model).toBe(name);
      expect(m.cases, name).toBeDefined();
      const { files, description } = packageExport(m, name, { trainedOn: { model: set.manifest.model.name, numLayers: 26, numExperts: 64, topK: 6 } });
      // The weights file holds every tensor the description counts.
      const tensors = decodeSafetensors(files[`${name}.safetensors`]).tensors;
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(m.tensors).sort());
      const values = Object.values(tensors).reduce((a, t) => a + t.data.length, 0);
      expect(description.bytes).toBe(4 * values);
      expect(description.parameters).toBeLessThanOrEqual(values);
      expect(description.parameters).toBeGreaterThan(0);
      if (name === 'token-aware' || name === 'sequence') expect(description.vocabulary!.keys.length).toBeGreaterThan(10);
      // The cases are what the predictor itself scores with: its score() for the same windows.
      const inner = (p as LearnedPredictor & { inner: LearnedPredictor }).inner;
      await inner.prepare(test, task);
      const own = predictorScores(inner, test, m.cases!, task.horizon);
      const want = m.cases!.outputKind === 'logits' && name !== 'sequence' ? m.cases!.output.map((x) => 1 / (1 + Math.exp(-x))) : m.cases!.output;
      expect(own.length).toBe(want.length);
      let diff = 0;
      own.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - want[i]))));
      expect(diff, name).toBeLessThan(1e-5);
      for (const [file, bytes] of Object.entries(files)) writeFileSync(join(dir, file), bytes);
      exported.push(name);
      p.dispose();
    }
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ models: exported, trace: set.manifest.model.name }));
    if (outDir) return;
    const { stdout } = await run('.venv/bin/python', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'collector/tests/test_predictor.py'], {
      env: { ...process.env, SPECLAB_EXPORT_DIR: dir },
    });
    expect(stdout).toMatch(/\b\d+ passed/);
    expect(stdout).not.toMatch(/skipped|failed|error/);
    const check = JSON.parse((await run('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, 'joint.json')])).stdout);
    expect(check.samples).toBe(48);
    expect(JSON.parse(readFileSync(join(dir, 'ensemble.json'), 'utf8')).members.map((x: PredictorDescription) => x.model)).toEqual([
      'interlayer',
      'stats-aware',
    ]);
  }, 600_000);
});

function chunk(a: number[], n: number): number[][] {
  return Array.from({ length: a.length / n }, (_, i) => a.slice(i * n, (i + 1) * n));
}
