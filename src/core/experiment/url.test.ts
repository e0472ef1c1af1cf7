import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG as DEFAULT_INTERLAYER } from './modelConfig';
import { defaultSpec, experimentSpecSchema, taskOf, trainingConfigOf, type ExperimentSpec } from './spec';
import { decodeSpecHash, encodeSpecHash, keyText, URL_KEYS, URL_LIMITS, withKeyValue } from './url';

function leaves(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

function custom(): ExperimentSpec {
  const s = defaultSpec();
  return experimentSpecSchema.parse({
    ...s,
    trace: 'https://data.example.org/traces/mixtral set/',
    datasets: ['gsm8k', 'a,b & c=d', 'ünïcode #1%'],
    task: { context: 2, horizon: 3, testFraction: 0.35 },
    model: {
      ...s.model,
      lr: 3.3e-4,
      lrSchedule: 'constant',
      weightDecay: 0,
      dropout: 0.25,
      batchSize: 8,
      hiddenUnits: 16,
      epochs: 1,
      layerSpecificHeads: true,
    },
    seed: 4294967295,
    backend: 'wasm',
    view: { panel: 'transitions', layer: 5 },
  });
}

describe('URL_KEYS', () => {
  it('declares every leaf of the spec exactly once, under distinct keys', () => {
    const paths = URL_KEYS.map((d) => d.path as string).sort();
    expect(paths).toEqual(leaves(defaultSpec()).sort());
    expect(new Set(URL_KEYS.map((d) => d.key)).size).toBe(URL_KEYS.length);
  });
});

describe('spec', () => {
  it('defaults to the demo and the reference design hyperparameters', () => {
    const s = defaultSpec();
    expect(s.trace).toBe('demo');
    expect(s.task).toMatchObject({ context: 3, horizon: 2 });
    expect(trainingConfigOf(s)).toEqual({ ...DEFAULT_INTERLAYER });
  });

  it('merges the task and seed into the training config', () => {
    const c = trainingConfigOf(custom());
    expect(c).toMatchObject({ context: 2, horizon: 3, seed: 4294967295, lr: 3.3e-4, hiddenUnits: 16 });
    expect(c).not.toHaveProperty('kind');
  });
});

describe('encode / decode', () => {
  it('round-trips the default and a customised spec', () => {
    for (const s of [defaultSpec(), custom()]) {
      const hash = encodeSpecHash(s);
      const d = decodeSpecHash(`#${hash}`);
      expect(d.messages).toEqual([]);
      expect(d.invalid).toEqual([]);
      expect(d.spec).toEqual(s);
      // Encoding is canonical: a second round gives the same text.
      expect(encodeSpecHash(d.spec)).toBe(hash);
    }
  });

  it('writes readable keys and leaves paths and URLs legible', () => {
    const hash = encodeSpecHash({ ...defaultSpec(), trace: '/traces/demo' });
    expect(hash).toMatch(/^v=1&trace=\/traces\/demo&task=layers&vis=decode&ctx=3&hor=2&/);
    expect(hash).toContain('&preset=auto&lr=auto&');
    expect(hash).toContain('&batch=auto&');
    expect(hash).toContain('&seed=0&');
    expect(hash).toContain('&panel=overview&layer=0');
  });

  it('reads values with the characters a link may hold', () => {
    const d = decodeSpecHash('#v=1&ds=a%26b&ds=c%3Dd&ds=e%23f&ds=x+y');
    expect(d.messages).toEqual([]);
    expect(d.spec.datasets).toEqual(['a&b', 'c=d', 'e#f', 'x y']);
  });

  it('takes an empty hash and legacy #trace= links without a version', () => {
    expect(decodeSpecHash('').spec).toEqual(defaultSpec());
    expect(decodeSpecHash('#').messages).toEqual([]);
    const d = decodeSpecHash('#trace=/traces/mine/manifest.json');
    expect(d.messages).toEqual([]);
    expect(d.spec.trace).toBe('/traces/mine');
  });

  it('decodes only once: nested encodings stay literal text', () => {
    const d = decodeSpecHash('#trace=' + encodeURIComponent(encodeURIComponent('javascript:alert(1)')));
    // One decode gives "javascript%3Aalert(1)": not a path, not a URL; refused, never decoded again.
    expect(d.invalid).toContain('trace');
    expect(d.spec.trace).toBe('demo');
    expect(d.messages.join('\n')).toContain('javascript%3Aalert(1)');
  });
});

describe('hostile and malformed links', () => {
  it.each([
    ['javascript:alert(1)', /"javascript:" URLs are not allowed/],
    ['JavaScript:alert(1)', /"javascript:" URLs are not allowed/],
    ['data:text/html,<script>alert(1)</script>', /"data:" URLs are not allowed/],
    ['file:///etc/passwd', /"file:" URLs are not allowed/],
    ['blob:http://localhost/x', /"blob:" URLs are not allowed/],
    ['//evil.example/set', /starts with "\/\/"/],
    ['http://evil.example/set', /plain http is only allowed for localhost/],
    ['https://user:pw@example.org/set', /user name or password/],
    ['<script>alert(1)</script>', /neither "demo", a path/],
    ['/traces/x\u0000y', /control characters/],
    ['\\\\server\\share', /control characters or backslashes/],
  ])('refuses trace=%s', (raw, pattern) => {
    const d = decodeSpecHash('#v=1&trace=' + encodeURIComponent(raw));
    expect(d.invalid).toEqual(['trace']);
    expect(d.problems.trace).toMatch(/; nothing was loaded$/);
    expect(d.rejected).toBe(false);
    expect(d.messages).toHaveLength(1);
    expect(d.messages[0]).toMatch(pattern);
    expect(d.spec.trace).toBe('demo');
  });

  it('reports malformed values, keeps the good ones and uses defaults for the rest', () => {
    const d = decodeSpecHash('#v=1&ctx=abc&hor=4&lr=0x10&batch=1e3&lsh=yes&panel=<script>&backend=webgpu&seed=-1');
    expect(d.spec.task.horizon).toBe(4);
    expect(d.spec.backend).toBe('webgpu');
    expect(d.spec.task.context).toBe(3);
    expect(d.spec.model.lr).toBe('auto');
    expect(d.spec.model.batchSize).toBe('auto');
    expect(d.spec.model.layerSpecificHeads).toBe(false);
    expect(d.spec.view.panel).toBe('overview');
    expect(d.spec.seed).toBe(0);
    expect(d.invalid.sort()).toEqual(['batch', 'ctx', 'lr', 'lsh', 'panel', 'seed']);
    const text = d.messages.join('\n');
    expect(text).toContain('"ctx" must be an integer, got "abc"');
    expect(text).toContain('"lr" must be a decimal number, got "0x10"');
    expect(text).toContain('"panel" must be one of overview, coactivation, transitions, reuse, tokens, training; got "<script>"');
    expect(text).toMatch(/"seed" Too small/);
  });

  it('reports out-of-range and huge values', () => {
    const d = decodeSpecHash(`#v=1&ctx=17&epochs=999999999999999999999&lr=1e308&drop=0.95&layer=99999&hidden=${'9'.repeat(5000)}&test=1`);
    expect(d.spec).toEqual(defaultSpec());
    expect(d.invalid.sort()).toEqual(['ctx', 'drop', 'epochs', 'hidden', 'layer', 'lr', 'test']);
    for (const m of d.messages) expect(m.length).toBeLessThan(200);
    expect(d.messages.join('\n')).toMatch(/"ctx" Too big: expected number to be <=16/);
  });

  it('reports cross-field problems against a key', () => {
    const d = decodeSpecHash('#v=1&patience=3&val=0');
    expect(d.invalid).toEqual(['patience']);
    expect(d.spec.model.earlyStoppingPatience).toBe('auto');
    expect(d.spec.model.valFraction).toBe(0);
  });

  it('reports unknown keys, repeated keys and malformed escapes', () => {
    const d = decodeSpecHash('#v=1&foo=1&__proto__=x&constructor=y&ctx=2&ctx=4&trace=%E0%A4%A&ds=a&ds=a');
    expect(d.spec).toEqual(defaultSpec());
    const text = d.messages.join('\n');
    expect(text).toContain('unknown key "foo"');
    expect(text).toContain('unknown key "__proto__"');
    expect(text).toContain('unknown key "constructor"');
    expect(text).toContain('"ctx" is given 2 times');
    expect(text).toContain('"trace" has a malformed %-escape');
    expect(text).toContain('"ds" lists a dataset twice');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses another version as a whole', () => {
    const d = decodeSpecHash('#v=2&trace=/traces/other&ctx=2');
    expect(d.rejected).toBe(true);
    expect(d.spec).toEqual(defaultSpec());
    expect(d.messages).toEqual(['link: version "2" is not supported (this page reads version 1); nothing in it was used']);
  });

  it('refuses huge links without reading them', () => {
    const long = decodeSpecHash('#v=1&trace=/' + 'a'.repeat(URL_LIMITS.maxHashLength));
    expect(long.rejected).toBe(true);
    expect(long.messages[0]).toMatch(/more than 8192; ignored/);
    const many = decodeSpecHash('#' + Array.from({ length: 200 }, (_, i) => `k${i}=1`).join('&'));
    expect(many.rejected).toBe(true);
  });

  it('caps the messages', () => {
    const d = decodeSpecHash('#' + Array.from({ length: 100 }, (_, i) => `x${i}=1`).join('&'));
    expect(d.messages).toHaveLength(URL_LIMITS.maxMessages + 1);
    expect(d.messages.at(-1)).toBe('link: 80 more problems not shown');
  });

  it('bounds list keys', () => {
    const d = decodeSpecHash('#' + Array.from({ length: 65 }, (_, i) => `ds=d${i}`).join('&'));
    expect(d.invalid).toEqual(['ds']);
    expect(d.spec.datasets).toEqual([]);
  });
});

describe('one field at a time', () => {
  it('sets a field from text, validated like a link', () => {
    const s = defaultSpec();
    const r = withKeyValue(s, 'hidden', ' 16 ');
    expect(r.ok && r.spec.model.hiddenUnits).toBe(16);
    expect(s.model.hiddenUnits).toBe(64);
    expect(withKeyValue(s, 'hidden', '16.5')).toEqual({ ok: false, message: 'must be an integer, got "16.5"' });
    expect(withKeyValue(s, 'ctx', '99')).toMatchObject({ ok: false, message: expect.stringMatching(/Too big/) });
    const ds = withKeyValue(s, 'ds', 'a, b');
    expect(ds.ok && ds.spec.datasets).toEqual(['a', 'b']);
    expect(keyText(custom(), 'lr')).toBe('0.00033');
    expect(keyText(custom(), 'ds')).toBe('gsm8k, a,b & c=d, ünïcode #1%');
  });
});

describe('task keys', () => {
  it('carry the task kind and visibility through a link, and refuse unknown ones by key', () => {
    const spec = experimentSpecSchema.parse({ v: 1, task: { kind: 'tokens', visibility: 'prefill' } });
    const back = decodeSpecHash(encodeSpecHash(spec));
    expect(back.spec.task).toMatchObject({ kind: 'tokens', visibility: 'prefill' });
    expect(taskOf(back.spec)).toEqual({ kind: 'tokens', context: 3, horizon: 2, visibility: 'prefill' });
    // A link written before the keys existed opens as the next-layers task in decode.
    expect(decodeSpecHash('v=1&ctx=3&hor=2').spec.task).toMatchObject({ kind: 'layers', visibility: 'decode' });
    const bad = decodeSpecHash('v=1&task=sideways');
    expect(bad.problems.task).toContain('sideways');
    expect(bad.spec.task.kind).toBe('layers');
  });
});
