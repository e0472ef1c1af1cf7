/**
 * The sequence model (net.ts, trainer.ts, sequencePredictor.ts) and the residual baselines (../blend.ts) on the
 * shared real traces: gradients against finite differences, determinism, stop/resume, what a prediction may
 * see, and default settings that beat every baseline on held-out sequences.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRng } from '../../core/experiment/rng';
import { decodeSafetensors } from '../../core/export/safetensors';
import { exportSequence } from './export';
import { describe, expect, it } from 'vitest';
import { expectFiniteDifferences } from './testGradient';
import { BASELINES } from '../../core/predictors/baselines';
import { scorePredictor } from '../../core/predictors/evaluate';
import type { PredictionContext } from '../../core/predictors/types';
import { splitBySequence } from '../../core/tasks/task';
import { importFiles } from '../../core/trace/importers';
import type { TraceSet } from '../../core/trace/types';
import { withBaselines } from '../blend';
import { parseInterLayerConfig } from '../config';
import { chooseOnValidation } from '../evaluatePredictors';
import { buildVocabulary } from '../models/vocabulary';
import { buildTokenInputs } from './inputs';
import { SequenceNet } from './net';
import { sequencePredictor } from './sequencePredictor';
import { SequenceTrainer, warmupCosine } from './trainer';

const REAL = new URL('../../../../shared/traces-real/', import.meta.url).pathname;
const mixtral = (): TraceSet =>
  importFiles([{ name: 'gsm8k_2_routing.jsonl', data: readFileSync(`${REAL}mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl`) }], 'jsonl').set;
function deepseek(from: number, n: number): TraceSet {
  const dir = `${REAL}deepseek-v2-lite-chat/puffin-1-100/`;
  const files = Array.from({ length: n }, (_, i) => ({ name: `prompt_${from + i}_data.csv`, data: readFileSync(`${dir}prompt_${from + i}_data.csv`) }));
  return importFiles(files, 'hook-csv').set;
}
const TASK = { context: 3, horizon: 2 };
const trainerConfig = (o: Record<string, unknown> = {}) => ({
  preset: 'auto' as const,
  lrSchedule: 'cosine' as const,
  hiddenUnits: 16,
  weightDecay: 0.01,
  clipNorm: 0,
  valFraction: 0.2,
  seed: 3,
  ...o,
});

describe('SequenceNet', () => {
  it('has the gradient of its loss (finite differences on a real DeepSeek prompt with token text)', () => {
    const set = deepseek(1, 1);
    const vocab = buildVocabulary(set, 64);
    const x = buildTokenInputs(set, vocab);
    const { numLayers: L, numExperts: E, topK: K } = set.manifest;
    const freq = new Float32Array(L * E).fill(Math.log(1 / E));
    const net = new SequenceNet({ numLayers: L, numExperts: E, topK: K, context: 3, horizon: 2, hidden: 8, vocab: vocab.size }, 1, freq);
    const rows = [1, 2, 5];
    const loss = () => rows.reduce((a, r) => a + net.accumulate(x, r, 0, null), 0);
    net.grads.fill(0);
    for (const r of rows) net.accumulate(x, r, 1, null);
    const analytic = net.grads.slice();
    net.grads.fill(0);
    // Parameters that the rows use (non-zero gradient), from every block, plus a few that they do not touch.
    const used = [...analytic.keys()].filter((i) => Math.abs(analytic[i]) > 1e-3);
    expect(used.length).toBeGreaterThan(100);
    const picks = Array.from({ length: 40 }, (_, i) => used[Math.floor((i * used.length) / 40)]);
    expectFiniteDifferences(net.params, net.grads, analytic, loss, picks);
  });

  it('warms up linearly, then anneals by cosine to zero', () => {
    expect(warmupCosine(0, 100, 10, 1, 'cosine')).toBeCloseTo(0.1);
    expect(warmupCosine(9, 100, 10, 1, 'cosine')).toBeCloseTo(1);
    expect(warmupCosine(55, 100, 10, 1, 'cosine')).toBeCloseTo(0.5);
    expect(warmupCosine(100, 100, 10, 1, 'cosine')).toBeCloseTo(0);
    expect(warmupCosine(80, 100, 10, 1, 'constant')).toBe(1);
  });
});

describe('SequenceTrainer', () => {
  it('is deterministic for a seed, and a run stopped and resumed ends with the same weights', async () => {
    const set = mixtral();
    const cfg = trainerConfig({ epochs: 3 });
    const a = new SequenceTrainer(set, TASK, cfg, null);
    await a.run();
    const b = new SequenceTrainer(set, TASK, cfg, null);
    let stopped = false;
    const run = b.run({
      onProgress: () => {
        if (!stopped) {
          stopped = true;
          b.stop();
        }
      },
    });
    const s = await run;
    if (stopped) {
      expect(s.state).toBe('stopped');
      await b.run();
    }
    expect(b.summary().state).toBe('done');
    expect(Array.from(b.net.params)).toEqual(Array.from(a.net.params));
    const c = new SequenceTrainer(set, TASK, trainerConfig({ epochs: 3, seed: 4 }), null);
    await c.run();
    expect(Array.from(c.net.params)).not.toEqual(Array.from(a.net.params));
  });

  it('chooses its schedule from the data by default, and the reference preset is the reference design', () => {
    const small = new SequenceTrainer(mixtral(), TASK, trainerConfig(), null).schedule;
    expect(small).toMatchObject({ lr: 3e-3, patience: 5, from: { lr: 'auto', epochs: 'auto', batchSize: 'auto', patience: 'auto' } });
    expect(small.epochs).toBeGreaterThan(10);
    const ref = new SequenceTrainer(mixtral(), TASK, trainerConfig({ preset: 'reference' }), null).schedule;
    expect(ref).toMatchObject({ lr: 1e-4, epochs: 5, batchSize: 16, patience: 0, from: { lr: 'reference' } });
    const set = new SequenceTrainer(mixtral(), TASK, trainerConfig({ preset: 'reference', lr: 0.01 }), null).schedule;
    expect(set.lr).toBe(0.01);
    expect(set.from.lr).toBe('config');
  });
});

describe('sequence predictor', () => {
  it('sees only what the decode task allows: later layers of the token and later tokens change nothing', async () => {
    const set = deepseek(1, 2);
    const p = sequencePredictor(set.manifest, { config: parseInterLayerConfig({ hiddenUnits: 8, epochs: 1, seed: 1 }) });
    await p.fit(set, TASK);
    await p.prepare(set, TASK);
    const { numLayers: L, numExperts: E, topK: K } = set.manifest;
    const c = set.chunks[0];
    const t = 10;
    const l = 5;
    const token = c.experts.slice(t * L * K, (t + 1) * L * K);
    const ctx: PredictionContext = { token, prev: c.experts.slice((t - 1) * L * K, t * L * K), layer: l, ahead: 0, row: t };
    const before = new Float64Array(E);
    p.score(ctx, l + 1, before);
    // Future routing of this token (layers > l) and of every later token, overwritten in the data the model reads.
    const future = c.experts.slice();
    for (let i = (t * L + l + 1) * K; i < future.length; i++) future[i] = (future[i] + 1) % E;
    const altered: TraceSet = { manifest: set.manifest, chunks: [{ ...c, experts: future }, ...set.chunks.slice(1)] };
    await p.prepare(altered, TASK);
    const after = new Float64Array(E);
    p.score({ ...ctx, token: future.slice(t * L * K, (t + 1) * L * K) }, l + 1, after);
    expect(Array.from(after)).toEqual(Array.from(before));
    // A change inside the visible context does change the scores (the test can fail).
    const past = c.experts.slice();
    for (let j = 0; j < K; j++) past[(t * L + l) * K + j] = (past[(t * L + l) * K + j] + 7) % E;
    await p.prepare({ manifest: set.manifest, chunks: [{ ...c, experts: past }, ...set.chunks.slice(1)] }, TASK);
    const changed = new Float64Array(E);
    p.score({ ...ctx, token: past.slice(t * L * K, (t + 1) * L * K) }, l + 1, changed);
    expect(Array.from(changed)).not.toEqual(Array.from(before));
  });

  it('at default settings beats every baseline on the held-out Mixtral problem, and on validation', async () => {
    const set = mixtral();
    const { train, test } = splitBySequence(set, 0.5, 0);
    const config = parseInterLayerConfig({ seed: 0 });
    const p = withBaselines(sequencePredictor(set.manifest, { config }), set.manifest, config);
    await p.fit(train, TASK);
    await p.prepare(test, TASK);
    const learned = scorePredictor(p, test, TASK).recallAtK;
    const baselines = Object.values(BASELINES).map((f) => {
      const b = f(set.manifest, 0);
      b.fit(train, TASK);
      return scorePredictor(b, test, TASK).recallAtK;
    });
    for (let h = 0; h < 2; h++) expect(learned[h]).toBeGreaterThan(Math.max(...baselines.map((b) => b[h])) + 0.03);
    // On validation the blend is at or above the Markov baseline by construction, and the choice is learned.
    for (const s of p.blend!.steps) expect(s.recall).toBeGreaterThanOrEqual(s.markovRecall);
    const chosen = await chooseOnValidation(
      Object.values(BASELINES).map((f) => f(set.manifest, 0)),
      [{ name: 'sequence', recall: p.blend!.steps.map((s) => s.recall) }],
      train,
      TASK,
      config.valFraction,
      0,
    );
    expect(chosen!.name).toBe('sequence');
  });

  it('at default settings beats Markov on held-out DeepSeek prompts, with token text', { timeout: 300_000 }, async () => {
    const set = deepseek(1, 24);
    const { train, test } = splitBySequence(set, 0.25, 0);
    const config = parseInterLayerConfig({ seed: 0 });
    const p = withBaselines(sequencePredictor(set.manifest, { config }), set.manifest, config);
    await p.fit(train, TASK);
    await p.prepare(test, TASK);
    const learned = scorePredictor(p, test, TASK).recallAtK;
    const markov = BASELINES.markov(set.manifest, 0);
    markov.fit(train, TASK);
    const base = scorePredictor(markov, test, TASK).recallAtK;
    for (let h = 0; h < 2; h++) expect(learned[h]).toBeGreaterThan(base[h] + 0.03);
    for (const s of p.blend!.steps) expect(s.recall).toBeGreaterThanOrEqual(s.markovRecall);
  });
});

describe('sequence model export', () => {
  it('PyTorch (collector/speclab_collect/predictor.py) reproduces the logits of every window', async () => {
    const set = deepseek(1, 3);
    const vocab = buildVocabulary(set, 256);
    const x = buildTokenInputs(set, vocab);
    const { numLayers: L, numExperts: E, topK: K } = set.manifest;
    const net = new SequenceNet({ numLayers: L, numExperts: E, topK: K, context: 3, horizon: 2, hidden: 12, vocab: vocab.size }, 2, new Float32Array(L * E));
    // Spread the weights so the logits are far apart: the check compares top-k sets, which near-ties would blur.
    const rnd = createRng(11);
    for (let i = 0; i < net.params.length; i++) net.params[i] = (rnd() * 2 - 1) * 0.8;
    const rows = [0, 1, 2, 7, 20];
    const out = new Float32Array(2 * E);
    const logits: number[] = [];
    for (const r of rows)
      for (let l = net.first; l <= net.last; l++) {
        net.predict(x, r, l, out);
        logits.push(...out);
      }
    const dir = mkdtempSync(join(tmpdir(), 'speclab-seq-export-'));
    const { safetensors, description } = exportSequence(net, 'sequence', {
      trainedOn: { model: set.manifest.model.name, numLayers: L, numExperts: E, topK: K },
    });
    expect(Object.keys(decodeSafetensors(safetensors).tensors).sort()).toEqual(['W', 'b', 'bias', 'ctx', 'pre', 'prev', 'tok']);
    writeFileSync(join(dir, 'sequence.safetensors'), safetensors);
    writeFileSync(join(dir, 'sequence.json'), JSON.stringify(description));
    const tokenRows = (r: number) => Array.from({ length: L }, (_, l) => Array.from(x.experts.subarray((r * L + l) * K, (r * L + l + 1) * K)));
    writeFileSync(
      join(dir, 'cases.json'),
      JSON.stringify({
        experts: rows.map(tokenRows),
        prevExperts: rows.map((r) => (x.prev[r] >= 0 ? tokenRows(x.prev[r]) : tokenRows(r))),
        hasPrev: rows.map((r) => x.prev[r] >= 0),
        tokens: rows.map((r) => Array.from(x.tokens.subarray(r * 3, r * 3 + 3))),
        logits,
      }),
    );
    const { stdout } = await promisify(execFile)('.venv/bin/python', [
      '-m',
      'speclab_collect.predictor',
      'check',
      join(dir, 'sequence.json'),
      join(dir, 'cases.json'),
    ]);
    const r = JSON.parse(stdout);
    expect(r.samples).toBe(rows.length);
    expect(r.maxAbsDiff).toBeLessThan(1e-4);
    expect(r.sameTopK).toBe(true);
  }, 120_000);
});
