import { describe, expect, it } from 'vitest';
import { checkMetrics, describeCheck, flattenMetrics, parseSuite, resolveExperiment } from './suite';
import { renderHtml } from './report';

const suite = (experiments: unknown[]) => JSON.stringify({ name: 's', experiments });

describe('regression suites', () => {
  it('parses a suite and resolves specs and hashes through the experiment schema', () => {
    const s = parseSuite(suite([{ name: 'a', spec: { task: { context: 2, horizon: 1 }, seed: 7 }, metrics: { 'markov.recallAtK.0': 0 } }]), 's.json');
    const { spec, hash } = resolveExperiment(s.experiments[0], 's.json');
    expect(spec.task.context).toBe(2);
    expect(spec.seed).toBe(7);
    const again = resolveExperiment({ name: 'b', hash, metrics: {} }, 's.json');
    expect(again.spec).toEqual(spec);
  });

  it('rejects malformed suites with the field named', () => {
    expect(() => parseSuite('{', 's.json')).toThrow(/s\.json: not valid JSON/);
    expect(() => parseSuite(suite([{ name: 'a', metrics: {} }]), 's.json')).toThrow(/give exactly one of "spec" or "hash"/);
    expect(() => parseSuite(suite([{ name: 'a b', spec: {}, metrics: {} }]), 's.json')).toThrow(/experiments\.0\.name/);
    expect(() =>
      parseSuite(
        suite([
          { name: 'a', spec: {}, metrics: {} },
          { name: 'a', spec: {}, metrics: {} },
        ]),
        's.json',
      ),
    ).toThrow(/listed twice/);
    const bad = parseSuite(suite([{ name: 'a', spec: { task: { context: 0 } }, metrics: {} }]), 's.json');
    expect(() => resolveExperiment(bad.experiments[0], 's.json')).toThrow(/experiment "a": task\.context/);
  });

  it('passes within tolerance and fails a planted regression, a missing metric and a missing baseline', () => {
    const wanted = { 'm.recallAtK.0': 0.01, 'm.exact.0': 0, 'm.top1.0': 0 };
    const base = { 'm.recallAtK.0': 0.5, 'm.exact.0': 0.2 };
    const ok = checkMetrics(wanted, { 'm.recallAtK.0': 0.505, 'm.exact.0': 0.2, 'm.top1.0': 0.3 }, base);
    expect(ok.map((c) => c.verdict)).toEqual(['pass', 'pass', 'no-baseline']);
    const worse = checkMetrics(wanted, { 'm.recallAtK.0': 0.45, 'm.exact.0': 0.2 }, base);
    expect(worse.map((c) => c.verdict)).toEqual(['regressed', 'pass', 'missing']);
    expect(describeCheck('exp', worse[0])).toBe('exp: m.recallAtK.0 regressed: 0.45 vs baseline 0.5 (difference -0.05000, tolerance ±0.01)');
    expect(describeCheck('exp', ok[2])).toMatch(/has no baseline .* --update/);
  });

  it('flattens per-predictor results into metric names', () => {
    expect(flattenMetrics({ markov: { kind: 'baseline', recallAtK: [0.4, 0.3], samples: 10 } })).toEqual({
      'markov.recallAtK.0': 0.4,
      'markov.recallAtK.1': 0.3,
      'markov.samples': 10,
    });
  });

  it('renders a self-contained report that escapes every name', () => {
    const html = renderHtml({
      suite: '<s>',
      date: 'd',
      browser: 'b',
      passed: false,
      experiments: [
        {
          name: '<img src=x onerror=alert(1)>',
          link: 'http://x/#a"b',
          backend: 'webgpu',
          status: 'fail',
          checks: [],
          curves: [
            { epoch: 1, valRecall: [0.5] },
            { epoch: 2, valRecall: [0.6] },
          ],
          seconds: 1,
        },
      ],
    });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('http://x/#a&quot;b');
    expect(html).toMatch(/<path class="val" d="M[\d.]+,[\d.]+L/);
    expect(html).toContain("default-src 'none'");
  });
});
