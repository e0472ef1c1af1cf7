import { describe, expect, it } from 'vitest';
import { traceLocationFromHash, validateTraceUrl } from './traceLocation';

const page = 'http://localhost:5173/';

describe('traceLocationFromHash', () => {
  it('defaults to the bundled demo', () => {
    expect(traceLocationFromHash('', page, '/')).toEqual({ ok: true, url: '/traces/demo' });
    expect(traceLocationFromHash('#other=1', page, '/app/')).toEqual({ ok: true, url: '/app/traces/demo' });
  });

  it('takes #trace=<path> relative to the page', () => {
    expect(traceLocationFromHash('#trace=/traces/mine/', page, '/')).toEqual({ ok: true, url: '/traces/mine' });
    expect(traceLocationFromHash('#trace=/traces/mine/manifest.json', page, '/')).toEqual({ ok: true, url: '/traces/mine' });
  });
});

describe('validateTraceUrl', () => {
  it('accepts https and local http', () => {
    expect(validateTraceUrl('https://example.org/t/set', page)).toEqual({ ok: true, url: 'https://example.org/t/set' });
    expect(validateTraceUrl('http://127.0.0.1:8000/set', page)).toEqual({ ok: true, url: 'http://127.0.0.1:8000/set' });
  });

  it.each(['javascript:alert(1)', 'data:text/plain,x', 'file:///etc/passwd', 'blob:http://localhost/x'])('rejects %s', (raw) => {
    const r = validateTraceUrl(raw, page);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/not allowed/);
  });

  it('rejects remote plain http and credentials', () => {
    expect(validateTraceUrl('http://example.org/set', page).ok).toBe(false);
    expect(validateTraceUrl('https://u:p@example.org/set', page).ok).toBe(false);
  });
});
