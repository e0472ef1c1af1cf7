/**
 * Compact experiment links: `#v=2&z=<base64url>`, where z is the readable version-1 hash (url.ts) compressed with
 * raw DEFLATE against a fixed dictionary (the version-1 default hash as it was when version 2 was defined), so a
 * link close to the defaults is a few dozen characters while every key is still written inside it.
 *
 * Decoding reads any version this page knows: version 1 (readable, also what the address bar shows) directly,
 * version 2 by inflating into a buffer bounded by the version-1 length limit (a zip bomb stops there) and then
 * reading the result exactly like a version-1 hash: one schema, the same messages, the same refusals.
 */
import { deflateSync, inflateSync } from 'fflate';
import type { ExperimentSpec } from './spec';
import { decodeSpecHash, encodeSpecHash, URL_LIMITS, type DecodedSpec } from './url';
import { defaultSpec } from './spec';
import { quote } from './traceRef';

/** The compact version links are written in; version 2 (an earlier dictionary) is still read. */
export const COMPACT_LINK_VERSION = 3;
export const LINK_VERSIONS = [1, 2, COMPACT_LINK_VERSION] as const;

/**
 * The preset dictionary of version 2. Frozen: changing one character makes every version-2 link unreadable
 * (a later format gets a new version number and its own dictionary).
 */
const DICTIONARY_V2 = new TextEncoder().encode(
  'v=1&trace=demo&ctx=3&hor=2&test=0.2&model=interlayer&lr=0.0001&sched=cosine&wd=0.01&clip=1&drop=0.1&batch=16&emb=32&hidden=64&epochs=5&lsh=0&patience=0&val=0.1&seed=0&backend=auto&panel=overview&layer=0',
);

/**
 * The preset dictionary of version 3: the version-1 default hash once the schedule fields defaulted to `auto`
 * (preset, lr, batch, epochs, patience) and the sequence model existed. Frozen like version 2's.
 */
const DICTIONARY_V3 = new TextEncoder().encode(
  'v=1&trace=demo&ctx=3&hor=2&test=0.2&model=interlayer&hist=2&vocab=4096&dynctx=0&preset=auto&lr=auto&sched=cosine&wd=0.01&clip=1&drop=0.1&batch=auto&emb=32&hidden=64&epochs=auto&lsh=0&patience=auto&val=0.1&fused=1&seed=0&backend=auto&panel=overview&layer=0&model=sequence',
);

const DICTIONARIES: Record<string, Uint8Array> = { '2': DICTIONARY_V2, '3': DICTIONARY_V3 };

/** Characters of the compressed payload: its inflated text may be at most URL_LIMITS.maxHashLength anyway. */
export const MAX_COMPACT_PAYLOAD = 4096;

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Any version-1 hash text as a version-2 hash (encodeCompactHash writes only valid specs; tests pack others). */
export function packHashText(v1: string): string {
  const z = deflateSync(new TextEncoder().encode(v1), { level: 9, dictionary: DICTIONARIES[String(COMPACT_LINK_VERSION)] });
  return `v=${COMPACT_LINK_VERSION}&z=${toBase64Url(z)}`;
}

/** The whole spec as a compact hash (without '#'). */
export function encodeCompactHash(spec: ExperimentSpec): string {
  return packHashText(encodeSpecHash(spec));
}

function reject(message: string): DecodedSpec {
  return { spec: defaultSpec(), messages: [message], invalid: ['*'], problems: { '*': message }, rejected: true };
}

/** The inflated text of a version-2 payload, or why it was refused. */
function inflatePayload(z: string, dictionary: Uint8Array): { ok: true; text: string } | { ok: false; message: string } {
  if (z.length > MAX_COMPACT_PAYLOAD)
    return { ok: false, message: `the compressed experiment is ${z.length} characters long, more than ${MAX_COMPACT_PAYLOAD}` };
  const bytes = fromBase64Url(z);
  if (!bytes || bytes.length === 0) return { ok: false, message: 'the compressed experiment is not base64url text' };
  // One byte more than allowed: a result that fills it was cut short, i.e. the text is too long (or a bomb).
  const out = new Uint8Array(URL_LIMITS.maxHashLength + 1);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(bytes, { out, dictionary });
  } catch (e) {
    return { ok: false, message: `the compressed experiment is damaged (${e instanceof Error ? e.message : String(e)})` };
  }
  if (inflated.length > URL_LIMITS.maxHashLength)
    return { ok: false, message: `the compressed experiment expands to more than ${URL_LIMITS.maxHashLength} characters` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(inflated);
  } catch {
    return { ok: false, message: 'the compressed experiment is not UTF-8 text' };
  }
  return { ok: true, text };
}

/** The `v` and `z` values of a hash, read without decoding anything else. */
function versionParts(text: string): { v: string[]; z: string[]; other: number } {
  const v: string[] = [];
  const z: string[] = [];
  let other = 0;
  for (const part of text.split('&')) {
    if (part.startsWith('v=')) v.push(part.slice(2));
    else if (part.startsWith('z=')) z.push(part.slice(2));
    else if (part !== '') other++;
  }
  return { v, z, other };
}

/**
 * Reads a hash of any known link version (with or without '#'); never throws, never acts. An empty hash is the
 * default experiment. Problems are reported like decodeSpecHash's, prefixed `link:`.
 */
export function decodeLinkHash(hash: string): DecodedSpec {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (text.length > URL_LIMITS.maxHashLength) return decodeSpecHash(text); // refused there, with its message
  const { v, z, other } = versionParts(text);
  if (v.length === 1 && DICTIONARIES[v[0]]) {
    if (z.length !== 1 || other > 0) return reject(`link: a version-${v[0]} link holds exactly one "z" value and nothing else; nothing in it was used`);
    const r = inflatePayload(z[0], DICTIONARIES[v[0]]);
    if (!r.ok) return reject(`link: ${r.message}; nothing in it was used`);
    const inner = versionParts(r.text).v;
    if (!(inner.length === 1 && inner[0] === '1'))
      return reject(
        `link: the compressed experiment must be a version-1 experiment, got version ${quote(inner.join(',') || '(none)', 20)}; nothing in it was used`,
      );
    return decodeSpecHash(r.text);
  }
  if (v.length > 0 && !(v.length === 1 && v[0] === '1'))
    return reject(`link: version ${quote(v.join(','), 20)} is not supported (this page reads versions ${LINK_VERSIONS.join(', ')}); nothing in it was used`);
  if (z.length > 0)
    return reject(`link: a compressed experiment ("z") needs version ${COMPACT_LINK_VERSION} ("v=${COMPACT_LINK_VERSION}"); nothing in it was used`);
  return decodeSpecHash(text);
}
