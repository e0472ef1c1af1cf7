// `speclab eval` with the learned predictor, run as a user runs it, on the real Mixtral trace (tiny model, CPU).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REAL } from '../core/trace/importers/test-helpers';

const run = promisify(execFile);

async function speclab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run('npm', ['run', '--silent', 'speclab', '--', ...args], { maxBuffer: 1 << 26 })) };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'speclab-learned-'));
const tiny = JSON.stringify({ hiddenUnits: 8, embeddingDim: 4, batchSize: 128, lr: 0.01 });

describe('speclab eval with learned predictors', () => {
  beforeAll(async () => {
    const r = await speclab('import', join(REAL, 'mixtral-8x7b-instruct-fp8'), '-o', join(tmp, 'mx'), '--json');
    expect(r.code).toBe(0);
  }, 60_000); // the import runs the CLI; a loaded 2-core machine can take longer than the 10 s hook default

  it('all = every baseline and every learned model the trace allows, each reporting its kind, with the same metrics', async () => {
    const r = await speclab(
      'eval',
      join(tmp, 'mx'),
      '--test-fraction',
      '0.5',
      '--predictor',
      'all',
      '--epochs',
      '1',
      '--backend',
      'cpu',
      '--model-config',
      tiny,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // The Mixtral trace has no tokens: token-aware is left out, saying why.
    expect(Object.keys(out)).toEqual(['random', 'frequency', 'markov', 'temporal', 'interlayer', 'stats-aware', 'ensemble', 'joint', 'attention', 'sequence']);
    expect(r.stderr).toMatch(/token-aware: left out: the token-aware model needs token ids or token text/);
    // Nor a lookahead gate: the lookahead baseline is left out too, saying why.
    expect(r.stderr).toMatch(/lookahead: left out: the trace has no lookahead gate logits/);
    for (const n of ['random', 'frequency', 'markov', 'temporal']) expect(out[n].kind).toBe('baseline');
    for (const n of ['interlayer', 'stats-aware', 'ensemble', 'joint', 'attention', 'sequence']) {
      expect(out[n]).toMatchObject({ kind: 'learned', samples: out.frequency.samples });
      // How each trained, and the residual baselines chosen on validation.
      expect(out[n].training).toMatchObject({ epochs: 1, path: expect.stringMatching(/^(tfjs|fused|cpu)$/) });
      expect(out[n].training.samples).toBeGreaterThan(0);
      expect(out[n].training.seconds).toBeGreaterThan(0);
      expect(out[n].training.samplesPerSecond).toBeGreaterThan(0);
      expect(out[n].blend.steps).toHaveLength(2);
      expect(out[n].modelAloneRecallAtK).toHaveLength(2);
      // What it costs: size, and inference time per token measured on its CPU backend, next to a Mixtral layer.
      const cost = out[n].cost;
      expect(cost).toMatchObject({ device: 'cpu', batches: 5, tokensPerBatch: 64 });
      expect(cost.batchMs).toHaveLength(5);
      expect(cost.parameters).toBeGreaterThan(0);
      expect(cost.bytes).toBeGreaterThanOrEqual(4 * cost.parameters);
      expect(cost.inferenceMsPerToken).toBeGreaterThan(0);
      expect(cost.inferenceMsPerWindow).toBeCloseTo(cost.inferenceMsPerToken / 28, 9); // 32 layers, C 3, H 2
      expect(cost.layer.model).toBe('Mixtral-8x7B');
      expect(cost.windowToLayer).toBeCloseTo(cost.inferenceMsPerWindow / cost.layer.ms, 9);
    }
    expect(out.sequence.cost.backend).toBe('cpu (TypeScript engine)');
    expect(out.interlayer.cost.backend).toBe('cpu');
    // The ensemble's weights are its two members'.
    expect(out.ensemble.cost.parameters).toBe(out.interlayer.cost.parameters + out['stats-aware'].cost.parameters);
    expect(r.stderr).toMatch(
      /interlayer: [\d,]+ parameters, \d+ KiB; [\d.]+ ms per token on cpu \([\d.]+ ms per window against [\d.]+ ms per Mixtral-8x7B layer\)/,
    );
    expect(out.sequence.training.path).toBe('cpu');
    expect(out.interlayer.training.backend).toContain('cpu');
    // Exactly one predictor is chosen, on validation; every candidate carries its validation recall.
    expect(Object.values(out).filter((p) => (p as { chosen?: boolean }).chosen)).toHaveLength(1);
    for (const n of Object.keys(out)) expect(out[n].validationRecallAtK).toHaveLength(2);
    expect(r.stderr).toMatch(/chosen on validation: /);
    expect(out.interlayer.recallAtK).toHaveLength(2);
    expect(out.interlayer.exact).toHaveLength(2);
    expect(r.stderr).toContain('interlayer: tfjs backend cpu');
    expect(r.stderr).toMatch(/interlayer epoch 1\/1: train loss/);
  });

  it('--export writes each learned model, and PyTorch reproduces its outputs on the test split (collector/speclab_collect/predictor.py)', async () => {
    const dir = join(tmp, 'exported');
    const r = await speclab(
      'eval',
      join(tmp, 'mx'),
      '--test-fraction',
      '0.5',
      '--predictor',
      'markov,joint,sequence',
      '--epochs',
      '1',
      '--backend',
      'cpu',
      '--model-config',
      tiny,
      '--export',
      dir,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const n of ['joint', 'sequence']) {
      const d = JSON.parse(readFileSync(join(dir, `${n}.json`), 'utf8'));
      expect(d).toMatchObject({
        format: 'speclab-predictor',
        model: n,
        weights: `${n}.safetensors`,
        cases: `${n}.cases.json`,
        parameters: out[n].cost.parameters,
        bytes: out[n].cost.bytes,
      });
      expect(d.trainedOn).toMatchObject({ numLayers: 32, numExperts: 8, topK: 2 });
      expect(d.metrics.recallAtK).toEqual(out[n].recallAtK);
      expect(d.cost.inferenceMsPerToken).toBe(out[n].cost.inferenceMsPerToken);
      const check = JSON.parse((await run('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, `${n}.json`)])).stdout);
      expect(check.sameTopK).toBe(true);
      expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
    }
    expect(existsSync(join(dir, 'markov.json'))).toBe(false);
    expect(r.stderr).toContain(`joint: exported to ${join(dir, 'joint.json')}`);
  }, 120_000);

  it('rejects bad learned options as usage errors', async () => {
    const bad = await speclab('eval', join(tmp, 'mx'), '--test-fraction', '0.5', '--predictor', 'interlayer', '--model-config', '{"lr":-1}');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^speclab: invalid InterLayer config: lr/);
    const backend = await speclab('eval', join(tmp, 'mx'), '--test-fraction', '0.5', '--predictor', 'interlayer', '--backend', 'tpu');
    expect(backend.code).toBe(2);
    expect(backend.stderr).toContain('--backend must be one of');
  });
});
