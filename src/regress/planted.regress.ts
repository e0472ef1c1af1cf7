// A planted regression: the demo experiment with a deliberately worse configuration (a learning rate too small to
// learn anything) against the demo suite's stored baseline must fail with a clear message; --update then passes.
// Runs in the browser (npm run test:regress), after the demo suite itself.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './run';

const demo = JSON.parse(readFileSync('regress/demo.json', 'utf8'));
const baseline = JSON.parse(readFileSync('regress/demo.baseline.json', 'utf8'));

describe('regression runs', () => {
  afterEach(() => vi.restoreAllMocks());

  it('fail on a planted regression with a clear message, and pass after --update', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'speclab-planted-'));
    const good = demo.experiments.find((e: { name: string }) => e.name === 'demo-context-1');
    const worse = { ...good, name: 'planted', spec: { ...good.spec, model: { ...good.spec.model, lr: 1e-7 } } };
    const suite = join(dir, 'planted.json');
    writeFileSync(suite, JSON.stringify({ name: 'planted', experiments: [worse] }));
    writeFileSync(join(dir, 'planted.baseline.json'), JSON.stringify({ suite: 'planted', experiments: { planted: baseline.experiments['demo-context-1'] } }));
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    const failed = await main([suite, '--out', join(dir, 'report')]);
    expect(failed).toBe(1);
    // The model alone regressed; the blended score (interlayer.recallAtK) keeps the residual baselines' level by design.
    expect(out).toMatch(/planted: interlayer\.modelAloneRecallAtK\.0 regressed: [\d.]+ vs baseline [\d.]+ \(difference -[\d.]+, tolerance ±0\.02\)/);
    // The baselines are exact counts and did not move: only the learned metric regressed.
    expect(out).not.toMatch(/markov\.recallAtK\.0 regressed/);
    expect(out).toMatch(/FAIL planted/);
    expect(readFileSync(join(dir, 'report', 'report.html'), 'utf8')).toContain('regressed');
    out = '';
    expect(await main([suite, '--update', '--out', join(dir, 'report')])).toBe(0);
    expect(out).toMatch(/PASS planted/);
    expect(JSON.parse(readFileSync(join(dir, 'planted.baseline.json'), 'utf8')).experiments.planted['interlayer.modelAloneRecallAtK.0']).toBeLessThan(
      baseline.experiments['demo-context-1']['interlayer.modelAloneRecallAtK.0'] - 0.02,
    );
  }, 900_000);
});
