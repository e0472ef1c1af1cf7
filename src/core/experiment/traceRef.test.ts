import { describe, expect, it } from 'vitest';
import { formatTraceRef, parseTraceRef, traceBaseUrl } from './traceRef';

const ok = (raw: string) => {
  const r = parseTraceRef(raw);
  if (!r.ok) throw new Error(r.message);
  return r.ref;
};

describe('parseTraceRef', () => {
  it('reads the demo, paths, URLs and local names', () => {
    expect(ok('')).toEqual({ kind: 'demo' });
    expect(ok('demo')).toEqual({ kind: 'demo' });
    expect(ok('/traces/mine/')).toEqual({ kind: 'path', path: '/traces/mine' });
    expect(ok('/traces/mine/manifest.json')).toEqual({ kind: 'path', path: '/traces/mine' });
    expect(ok('https://example.org/t/set/manifest.json')).toEqual({ kind: 'url', url: 'https://example.org/t/set' });
    expect(ok('http://127.0.0.1:8000/set?token=1')).toEqual({ kind: 'url', url: 'http://127.0.0.1:8000/set?token=1' });
    expect(ok('local:puffin (3 files)')).toEqual({ kind: 'local', name: 'puffin (3 files)' });
  });

  it('formats back to the same text', () => {
    for (const s of ['demo', '/traces/mine', 'https://example.org/t/set', 'local:x']) expect(formatTraceRef(ok(s))).toBe(s);
  });

  it.each([
    'javascript:alert(1)',
    'data:,x',
    'ftp://example.org/x',
    '//evil/x',
    'http://evil.example/x',
    'https://a@b/x',
    'https://x/y#z',
    'local:',
    'a'.repeat(3000),
  ])('refuses %s', (raw) => expect(parseTraceRef(raw).ok).toBe(false));
});

describe('traceBaseUrl', () => {
  it('resolves against the app base and keeps same-origin URLs as paths', () => {
    expect(traceBaseUrl({ kind: 'demo' }, '/')).toBe('/traces/demo');
    expect(traceBaseUrl({ kind: 'demo' }, '/app')).toBe('/app/traces/demo');
    expect(traceBaseUrl({ kind: 'url', url: 'http://localhost:4173/traces/x' }, '/', 'http://localhost:4173')).toBe('/traces/x');
    expect(traceBaseUrl({ kind: 'url', url: 'https://example.org/x' }, '/', 'http://localhost:4173')).toBe('https://example.org/x');
    expect(traceBaseUrl({ kind: 'local', name: 'x' }, '/')).toBeNull();
  });
});
