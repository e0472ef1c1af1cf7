import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { decodeLinkHash, encodeCompactHash, MAX_COMPACT_PAYLOAD, packHashText } from './compactLink';
import { defaultSpec, experimentSpecSchema } from './spec';
import { encodeSpecHash, URL_LIMITS } from './url';

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function custom() {
  const s = defaultSpec();
  return experimentSpecSchema.parse({
    ...s,
    trace: 'https://data.example.org/traces/mixtral set/',
    datasets: ['gsm8k', 'a,b & c=d'],
    task: { context: 2, horizon: 3, testFraction: 0.35 },
    model: { ...s.model, lr: 3.3e-4, hiddenUnits: 16, epochs: 1 },
    seed: 1234567,
    backend: 'wasm',
    view: { panel: 'training', layer: 5 },
  });
}

describe('compact links (version 2)', () => {
  it('round-trip any spec, seed and trace reference included, and are shorter than the readable form', () => {
    for (const spec of [defaultSpec(), custom()]) {
      const hash = encodeCompactHash(spec);
      expect(hash).toMatch(/^v=3&z=[A-Za-z0-9_-]+$/);
      const d = decodeLinkHash(`#${hash}`);
      expect(d.messages).toEqual([]);
      expect(d.spec).toEqual(spec);
      expect(hash.length).toBeLessThan(encodeSpecHash(spec).length * 0.7);
    }
    // Near the defaults, the dictionary leaves little to write (keys added after it was frozen cost a few bytes each).
    expect(encodeCompactHash(defaultSpec()).length).toBeLessThan(encodeSpecHash(defaultSpec()).length / 3);
  });

  it('keep reading links written today (the dictionary is frozen)', () => {
    // Written by encodeCompactHash for seed=7, epochs=1, trace=https://example.org/set, panel=training.
    const spec = experimentSpecSchema.parse({
      ...defaultSpec(),
      seed: 7,
      trace: 'https://example.org/set',
      model: { ...defaultSpec().model, epochs: 1 },
      view: { panel: 'training', layer: 0 },
    });
    const hash = encodeCompactHash(spec);
    expect(decodeLinkHash(hash).spec).toEqual(spec);
    // A version-2 link wrote every value, the reference schedule of its day included: it replays that, not today's auto.
    const then = experimentSpecSchema.parse({ ...spec, model: { ...spec.model, lr: 1e-4, batchSize: 16, earlyStoppingPatience: 0 } });
    expect(decodeLinkHash(GOLDEN).spec).toEqual(then);
  });

  it('still read version-1 links and the empty hash', () => {
    const spec = custom();
    expect(decodeLinkHash(`#${encodeSpecHash(spec)}`).spec).toEqual(spec);
    expect(decodeLinkHash('').spec).toEqual(defaultSpec());
    expect(decodeLinkHash('#trace=demo&seed=3').spec.seed).toBe(3);
  });

  it('pass the inflated experiment through the schema: bad values are reported, the rest used', () => {
    const d = decodeLinkHash(packHashText('v=1&trace=demo&ctx=%3Cscript%3E&epochs=99999999&__proto__=1&seed=9'));
    expect(d.rejected).toBe(false);
    expect(d.messages).toEqual([
      'link: unknown key "__proto__" ignored',
      'link: "ctx" must be an integer, got "<script>"; the default is used',
      expect.stringMatching(/^link: "epochs" Too big/),
    ]);
    expect(d.spec.seed).toBe(9);
    expect(d.spec.task.context).toBe(defaultSpec().task.context);
    // A refused trace is reported under its key, so the page loads nothing.
    expect(decodeLinkHash(packHashText('v=1&trace=javascript:alert(1)')).invalid).toEqual(['trace']);
  });

  it('refuse hostile compressed links with a message, using nothing', () => {
    const cases: [hash: string, message: RegExp][] = [
      // A zip bomb: 2 MB of "a" in under 3,000 characters.
      [`v=2&z=${b64url(deflateSync(new Uint8Array(2_000_000).fill(97), { level: 9 }))}`, /expands to more than 8192 characters/],
      // Within the payload limit but over the text limit once inflated.
      [`v=2&z=${b64url(deflateSync(new TextEncoder().encode(`v=1&trace=demo&${'ds=x&'.repeat(2000)}`), { level: 9 }))}`, /expands to more than/],
      [`v=2&z=${'A'.repeat(MAX_COMPACT_PAYLOAD + 4)}`, /more than 4096/],
      ['v=2&z=not*base64', /not base64url/],
      ['v=2&z=AAAA', /damaged|must be a version-1/],
      ['v=2', /exactly one "z"/],
      ['v=2&z=abc&trace=demo', /exactly one "z"/],
      [`v=2&z=${b64url(deflateSync(new Uint8Array([0xff, 0xfe, 0x00])))}`, /damaged|not UTF-8/],
      [`v=2&z=${encodeCompactHash(defaultSpec()).slice(6)}&z=x`, /exactly one "z"/],
      ['v=3&z=abc', /damaged|not base64url/],
      ['v=4&z=abc', /version "4" is not supported \(this page reads versions 1, 2, 3\)/],
      ['v=1&v=2&z=abc', /version "1,2" is not supported/],
      ['trace=demo&z=abc', /needs version 3/],
    ];
    for (const [hash, message] of cases) {
      const d = decodeLinkHash(hash);
      expect(d.rejected, hash.slice(0, 60)).toBe(true);
      expect(d.spec).toEqual(defaultSpec());
      expect(d.messages.join(' ')).toMatch(message);
    }
  });

  it('refuse a compressed link whose inner text is another compressed link', () => {
    const nested = b64url(deflateSync(new TextEncoder().encode(encodeCompactHash(defaultSpec())), { level: 9 }));
    const d = decodeLinkHash(`v=2&z=${nested}`);
    expect(d.rejected).toBe(true);
    expect(d.messages[0]).toMatch(/^link: /);
  });

  it('refuse over-long hashes before inflating anything', () => {
    const d = decodeLinkHash(`v=2&z=${'A'.repeat(URL_LIMITS.maxHashLength)}`);
    expect(d.rejected).toBe(true);
    expect(d.messages[0]).toMatch(/more than 8192/);
  });
});

const GOLDEN = 'v=2&z=Q_gko6SkoNhKXz-1IjG3ICdVL78oXb84tWSAPGdIwHPm2DwH9EhmXmZeOsxzAA';
