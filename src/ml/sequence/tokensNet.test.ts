/**
 * The sequence model in the next-tokens task (tokensNet.ts) and in prefill, on the shared real DeepSeek traces:
 * its gradient, that it sees only what each task allows (data it may not see changed changes nothing), and that at
 * default settings it is at or above every baseline on validation.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageExport } from '../exportModel';
import { describe, expect, it } from 'vitest';
import { expectFiniteDifferences } from './testGradient';
import { BASELINES } from '../../core/predictors/baselines';
import { scorePredictor } from '../../core/predictors/evaluate';
import { poisoned, scoresAt } from '../../core/predictors/testVisibility';
import { splitBySequence, type TaskSpec } from '../../core/tasks/task';
import { importFiles } from '../../core/trace/importers';
import type { TraceSet } from '../../core/trace/types';
import { withBaselines } from '../blend';
import { parseInterLayerConfig } from '../config';
import { chooseOnValidation } from '../evaluatePredictors';
import { buildVocabulary } from '../models/vocabulary';
import { hasTokensWindow } from '../../core/predictors/window';
import { buildTokenInputs, fillTokensWindow } from './inputs';
import { sequencePredictor } from './sequencePredictor';
import { SequenceNet } from './net';
import { NextTokensNet } from './tokensNet';

const REAL = new URL('../../../../shared/traces-real/', import.meta.url).pathname;
function deepseek(from: number, n: number): TraceSet {
  const dir = `${REAL}deepseek-v2-lite-chat/puffin-1-100/`;
  const files = Array.from({ length: n }, (_, i) => ({ name: `prompt_${from + i}_data.csv`, data: readFileSync(`${dir}prompt_${from + i}_data.csv`) }));
  return importFiles(files, 'hook-csv').set;
}
const TOKENS: TaskSpec = { kind: 'tokens', context: 3, horizon: 2, visibility: 'decode' };

describe('NextTokensNet', () => {
  it('has the gradient of its loss (finite differences on a real DeepSeek prompt, prefill identities included)', () => {
    const set = deepseek(1, 1);
    const vocab = buildVocabulary(set, 64);
    const x = buildTokenInputs(set, vocab);
    const { numLayers: L, numExperts: E, topK: K } = set.manifest;
    const net = new NextTokensNet(
      { numLayers: L, numExperts: E, topK: K, context: 3, horizon: 2, hidden: 8, vocab: vocab.size, future: true },
      1,
      new Float32Array(L * E).fill(Math.log(1 / E)),
    );
    const all = Array.from({ length: x.n }, (_, i) => i).filter((r) => hasTokensWindow(x, r, 3, 2));
    const rows = [all[0], all[all.length >> 1], all[all.length - 1]];
    expect(rows.length).toBe(3);
    const wins = rows.map((r) => {
      const w = { context: new Int16Array(3 * L * K), tokens: new Int32Array(3), future: new Int32Array(2) };
      const targets = new Int16Array(2 * L * K);
      fillTokensWindow(x, r, L, K, 3, 2, true, w, targets);
      return { w, targets };
    });
    const loss = () => wins.reduce((a, { w, targets }) => a + net.accumulate(w, targets, 0, null), 0);
    net.grads.fill(0);
    for (const { w, targets } of wins) net.accumulate(w, targets, 1, null);
    const analytic = net.grads.slice();
    net.grads.fill(0);
    const used = [...analytic.keys()].filter((i) => Math.abs(analytic[i]) > 1e-3);
    expect(used.length).toBeGreaterThan(100);
    // Every block has a gradient, the copy weights (the last block) included.
    const t = net.tensors();
    expect(Object.keys(t)).toEqual(['ctx', 'pre', 'tok', 'fut', 'b', 'W', 'bias', 'copy']);
    expectFiniteDifferences(
      net.params,
      net.grads,
      analytic,
      loss,
      Array.from({ length: 40 }, (_, k) => used[Math.floor((k * used.length) / 40)]).concat(used.slice(-5)),
    );
  });
});

describe('sequence predictor, every task', () => {
  const set = deepseek(1, 6);
  const { train, test } = splitBySequence(set, 0.34, 0);
  const tasks: TaskSpec[] = [TOKENS, { ...TOKENS, visibility: 'prefill' }, { kind: 'layers', context: 3, horizon: 2, visibility: 'prefill' }];
  for (const task of tasks)
    it(`scores the same when what ${task.kind}/${task.visibility} hides is changed`, { timeout: 120_000 }, async () => {
      const config = parseInterLayerConfig({ seed: 0, epochs: 1, hiddenUnits: 8 });
      const p = sequencePredictor(set.manifest, { config });
      await p.fit(train, task);
      const L = set.manifest.numLayers;
      const l = task.kind === 'tokens' ? L - 1 : 6;
      for (const r of [4, 40]) {
        await p.prepare(test, task);
        const before = scoresAt(p, test, task, r, l);
        expect(before.size).toBeGreaterThan(0);
        const altered = poisoned(test, task, r, l);
        await p.prepare(altered, task);
        expect(scoresAt(p, altered, task, r, l)).toEqual(before);
      }
    });

  it(
    'at default settings in the next-tokens task is at or above every baseline on validation, and above frequency on held-out prompts',
    { timeout: 300_000 },
    async () => {
      const big = deepseek(1, 16);
      const split = splitBySequence(big, 0.25, 0);
      const config = parseInterLayerConfig({ seed: 0 });
      const p = withBaselines(sequencePredictor(big.manifest, { config }), big.manifest, config);
      await p.fit(split.train, TOKENS);
      await p.prepare(split.test, TOKENS);
      const learned = scorePredictor(p, split.test, TOKENS);
      expect(learned.recallAtK).toHaveLength(2);
      const frequency = BASELINES.frequency(big.manifest, 0);
      frequency.fit(split.train, TOKENS);
      const f = scorePredictor(frequency, split.test, TOKENS).recallAtK;
      for (let h = 0; h < 2; h++) expect(learned.recallAtK[h]).toBeGreaterThan(f[h] + 0.03);
      const chosen = await chooseOnValidation(
        Object.values(BASELINES).map((b) => b(big.manifest, 0)),
        [{ name: 'sequence', recall: p.blend!.steps.map((s) => s.recall) }],
        split.train,
        TOKENS,
        config.valFraction,
        0,
      );
      for (const [name, r] of Object.entries(chosen!.candidates))
        if (name !== 'sequence') for (let h = 0; h < 2; h++) expect(chosen!.candidates.sequence[h], `step ${h + 1} vs ${name}`).toBeGreaterThanOrEqual(r[h]);
    },
  );
});

describe('sequence model export, every task', () => {
  const cases: TaskSpec[] = [TOKENS, { ...TOKENS, visibility: 'prefill' }, { kind: 'layers', context: 3, horizon: 2, visibility: 'prefill' }];
  for (const task of cases)
    it(`PyTorch (collector/speclab_collect/predictor.py) reproduces its logits (${task.kind}/${task.visibility})`, { timeout: 120_000 }, async () => {
      const set = deepseek(1, 4);
      const { train, test } = splitBySequence(set, 0.25, 0);
      const config = parseInterLayerConfig({ seed: 0, epochs: 2, hiddenUnits: 16 });
      const p = sequencePredictor(set.manifest, { config });
      await p.fit(train, task);
      const m = await p.exportModel!({ set: test, task });
      if (task.kind === 'tokens') expect(m.shape).toMatchObject({ taskKind: 'tokens', future: task.visibility === 'prefill' });
      else expect(m.shape).toMatchObject({ next: true });
      expect(Object.keys(m.tensors)).toContain(task.kind === 'layers' ? 'next' : task.visibility === 'prefill' ? 'fut' : 'copy');
      const dir = mkdtempSync(join(tmpdir(), 'speclab-tokens-export-'));
      const { files } = packageExport(m, 'sequence');
      for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
      const { stdout } = await promisify(execFile)('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, 'sequence.json')]);
      const r = JSON.parse(stdout);
      expect(r.samples).toBeGreaterThanOrEqual(4);
      expect(r.maxAbsDiff).toBeLessThan(1e-4);
      expect(r.sameTopK).toBe(true);
      expect(r.vocabularyMatches).toBe(true);
    });
});

describe('SequenceNet in prefill', () => {
  it('has the gradient of its loss with the next token as an input, and uses that input', () => {
    const set = deepseek(1, 1);
    const vocab = buildVocabulary(set, 64);
    const x = buildTokenInputs(set, vocab);
    const { numLayers: L, numExperts: E, topK: K } = set.manifest;
    const net = new SequenceNet(
      { numLayers: L, numExperts: E, topK: K, context: 3, horizon: 2, hidden: 8, vocab: vocab.size, next: true },
      1,
      new Float32Array(L * E).fill(Math.log(1 / E)),
    );
    const rows = [1, 2, x.n - 1];
    const loss = () => rows.reduce((a, r) => a + net.accumulate(x, r, 0, null), 0);
    net.grads.fill(0);
    for (const r of rows) net.accumulate(x, r, 1, null);
    const analytic = net.grads.slice();
    net.grads.fill(0);
    const t = net.tensors();
    const nextFrom = t.next.data.byteOffset / 4 - net.params.byteOffset / 4;
    const used = [...analytic.keys()].filter((i) => Math.abs(analytic[i]) > 1e-4);
    const inNext = used.filter((i) => i >= nextFrom && i < nextFrom + t.next.data.length);
    expect(inNext.length).toBeGreaterThan(20);
    expectFiniteDifferences(net.params, net.grads, analytic, loss, [
      ...Array.from({ length: 20 }, (_, k) => used[Math.floor((k * used.length) / 20)]),
      ...inNext.slice(0, 10),
    ]);
    // The next token's experts at layer l change the prediction (what prefill adds over decode).
    const out = new Float32Array(2 * E);
    net.predict(x, 5, 6, out);
    const before = Array.from(out);
    const changed = { ...x, experts: x.experts.slice() };
    for (let j = 0; j < K; j++) changed.experts[(6 * L + 6) * K + j] = (changed.experts[(6 * L + 6) * K + j] + 5) % E;
    net.predict(changed, 5, 6, out);
    expect(Array.from(out)).not.toEqual(before);
  });
});
