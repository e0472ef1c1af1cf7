/**
 * Mutations for the fuzzer: byte-level ones for any input (bit flips, interesting integers, truncation,
 * splicing, huge lengths) and text-level ones for routing logs and manifests (wrong types, huge numbers and
 * arrays, deep nesting, NUL, invalid UTF-8, UTF-16 and BOMs). All draw from a seeded RNG, so a case replays.
 */

export type Rng = () => number;

export interface Mutation {
  name: string;
  /** Text mutations only make sense for text inputs. */
  text?: boolean;
  apply(b: Uint8Array, rng: Rng, other: Uint8Array): Uint8Array;
}

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

const INTERESTING_32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 0x7fff, 8, 255, 1 << 20, 1 << 30];
const INTERESTING_64 = [0n, 1n, -1n, 0x7fffffffn, 0xffffffffn, 1n << 32n, 1n << 40n, (1n << 53n) + 1n, (1n << 63n) - 1n, -(1n << 63n)];

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const enc = new TextEncoder();
/** Non-fatal decode: mutations that work on text see U+FFFD where bytes were invalid. */
const dec = new TextDecoder('utf-8');

/** Positions of aligned small positive integers: likely lengths, counts and offsets in Arrow metadata. */
function lengthLikePositions(b: Uint8Array, width: 4 | 8): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let p = 0; p + width <= b.length; p += width) {
    const v = width === 4 ? dv.getInt32(p, true) : Number(dv.getBigInt64(p, true));
    if (v > 0 && v <= b.length * 8) out.push(p);
  }
  return out;
}

export const BYTE_MUTATIONS: Mutation[] = [
  {
    name: 'bitflip',
    apply(b, rng) {
      const out = b.slice();
      const n = 1 + int(rng, 8);
      for (let i = 0; i < n && out.length; i++) out[int(rng, out.length)] ^= 1 << int(rng, 8);
      return out;
    },
  },
  {
    name: 'byte',
    apply(b, rng) {
      const out = b.slice();
      if (out.length) out[int(rng, out.length)] = pick(rng, [0, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
      return out;
    },
  },
  {
    name: 'int32',
    apply(b, rng) {
      const out = b.slice();
      if (out.length < 4) return out;
      const p = int(rng, (out.length - 3) >> 2) << 2;
      new DataView(out.buffer).setInt32(p, pick(rng, INTERESTING_32) + (rng() < 0.3 ? int(rng, 9) - 4 : 0), true);
      return out;
    },
  },
  {
    // A huge, zero, negative or off-by-some value in place of an aligned length-like integer.
    name: 'length',
    apply(b, rng) {
      const out = b.slice();
      const width = rng() < 0.5 ? 4 : 8;
      const ps = lengthLikePositions(out, width);
      if (!ps.length) return out;
      const p = pick(rng, ps);
      const dv = new DataView(out.buffer);
      if (width === 4) {
        const v = dv.getInt32(p, true);
        dv.setInt32(p, pick(rng, [0, -1, v + 1, v - 1, v * 2, v * 1000, 0x7fffffff, v + 8, v - 8]) | 0, true);
      } else {
        const v = dv.getBigInt64(p, true);
        dv.setBigInt64(p, BigInt.asIntN(64, pick(rng, [0n, -1n, v + 1n, v - 1n, v * 2n, v * 1000000n, ...INTERESTING_64])), true);
      }
      return out;
    },
  },
  {
    name: 'int64',
    apply(b, rng) {
      const out = b.slice();
      if (out.length < 8) return out;
      const p = int(rng, (out.length - 7) >> 3) << 3;
      new DataView(out.buffer).setBigInt64(p, pick(rng, INTERESTING_64), true);
      return out;
    },
  },
  {
    name: 'truncate',
    apply(b, rng) {
      return b.slice(0, int(rng, b.length + 1));
    },
  },
  {
    name: 'truncate-tail',
    apply(b, rng) {
      return b.slice(0, Math.max(0, b.length - 1 - int(rng, 64)));
    },
  },
  {
    name: 'delete',
    apply(b, rng) {
      const s = int(rng, b.length + 1);
      const e = Math.min(b.length, s + 1 + int(rng, 64));
      return concat(b.subarray(0, s), b.subarray(e));
    },
  },
  {
    name: 'duplicate',
    apply(b, rng) {
      const s = int(rng, b.length + 1);
      const e = Math.min(b.length, s + 1 + int(rng, 256));
      return concat(b.subarray(0, e), b.subarray(s, e), b.subarray(e));
    },
  },
  {
    // Splice: the head of this input and the tail of another (or of itself, elsewhere).
    name: 'splice',
    apply(b, rng, other) {
      const src = rng() < 0.5 ? other : b;
      return concat(b.subarray(0, int(rng, b.length + 1)), src.subarray(int(rng, src.length + 1)));
    },
  },
  {
    name: 'overwrite-chunk',
    apply(b, rng, other) {
      const out = b.slice();
      if (!out.length || !other.length) return out;
      const n = Math.min(1 + int(rng, 64), other.length, out.length);
      out.set(other.subarray(int(rng, other.length - n + 1)).subarray(0, n), int(rng, out.length - n + 1));
      return out;
    },
  },
  {
    name: 'append-garbage',
    apply(b, rng) {
      const g = new Uint8Array(1 + int(rng, 64));
      for (let i = 0; i < g.length; i++) g[i] = int(rng, 256);
      return concat(b, g);
    },
  },
];

/** Replaces the `which`-th match of `re` in the text. */
function replaceOne(text: string, re: RegExp, rng: Rng, by: (m: string) => string): string {
  const ms = [...text.matchAll(re)];
  if (!ms.length) return text;
  const m = pick(rng, ms);
  return text.slice(0, m.index) + by(m[0]) + text.slice(m.index! + m[0].length);
}

const WRONG_VALUES = [
  '"7"',
  'null',
  'true',
  '[]',
  '{}',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '99999999999999999999',
  '32768',
  '65536',
  '2147483648',
  '""',
  '[[1]]',
  '"\\u0000"',
  '1e-400',
];

function lines(text: string): string[] {
  return text.split('\n');
}

export const TEXT_MUTATIONS: Mutation[] = [
  {
    name: 'wrong-value',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      return enc.encode(replaceOne(t, /-?\d+(\.\d+)?([eE][+-]?\d+)?|"[^"\n]*"|\btrue\b|\bfalse\b|\bnull\b/g, rng, () => pick(rng, WRONG_VALUES)));
    },
  },
  {
    name: 'huge-number',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      return enc.encode(
        replaceOne(t, /\d+/g, rng, () => pick(rng, ['4294967296', '9007199254740993', '1' + '0'.repeat(400), '2147483647', '32767', '-32768', '1e9'])),
      );
    },
  },
  {
    name: 'huge-list',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      const n = pick(rng, [300, 5000, 100_000]);
      const list = Array.from({ length: n }, (_, i) => i % 70000).join(', ');
      return enc.encode(replaceOne(t, /\[[^\[\]\n]*\]/g, rng, () => `[${list}]`));
    },
  },
  {
    name: 'huge-string',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      return enc.encode(replaceOne(t, /"[^"\n]*"/g, rng, () => JSON.stringify('x'.repeat(pick(rng, [1000, 200_000])))));
    },
  },
  {
    name: 'deep-nesting',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      const d = pick(rng, [100, 10_000, 100_000]);
      return enc.encode(replaceOne(t, /\[[^\[\]\n]*\]/g, rng, (m) => '['.repeat(d) + m + ']'.repeat(d)));
    },
  },
  {
    name: 'drop-key',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      return enc.encode(replaceOne(t, /"[A-Za-z_]+"\s*:\s*[^,}\n]*,?/g, rng, () => ''));
    },
  },
  {
    name: 'rename-key',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      return enc.encode(
        replaceOne(t, /"[A-Za-z_]+"\s*:/g, rng, (m) =>
          m.replace(/"([A-Za-z_]+)"/, (_, k: string) => `"${k}${pick(rng, ['_', 'X', '\u0000', ''])}${rng() < 0.5 ? k : ''}"`),
        ),
      );
    },
  },
  {
    name: 'line-edit',
    text: true,
    apply(b, rng) {
      const ls = lines(dec.decode(b));
      const i = int(rng, ls.length);
      const j = int(rng, ls.length);
      const op = int(rng, 4);
      if (op === 0) ls.splice(i, 1);
      else if (op === 1) ls.splice(i, 0, ls[j]);
      else if (op === 2) [ls[i], ls[j]] = [ls[j], ls[i]];
      else ls[i] = ls[i].slice(0, int(rng, ls[i].length + 1));
      return enc.encode(ls.join('\n'));
    },
  },
  {
    name: 'csv-field',
    text: true,
    apply(b, rng) {
      const ls = lines(dec.decode(b));
      const i = int(rng, ls.length);
      ls[i] = pick(rng, [ls[i] + ',extra', ls[i].replace(',', ''), ls[i].replace('"', ''), '"' + ls[i], ls[i].replace(/\d+/, '-3'), ls[i].replace(/\[/, '[[')]);
      return enc.encode(ls.join('\n'));
    },
  },
  {
    name: 'crlf',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      return enc.encode(rng() < 0.5 ? t.replace(/\n/g, '\r\n') : t.replace(/\n/g, '\r'));
    },
  },
  {
    name: 'nul',
    apply(b, rng) {
      const p = int(rng, b.length + 1);
      return concat(b.subarray(0, p), new Uint8Array(1 + int(rng, 4)), b.subarray(p));
    },
  },
  {
    name: 'invalid-utf8',
    apply(b, rng) {
      const p = int(rng, b.length + 1);
      const bad = pick(rng, [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80]]);
      return concat(b.subarray(0, p), Uint8Array.from(bad), b.subarray(p));
    },
  },
  {
    name: 'utf8-bom',
    apply(b) {
      return concat(Uint8Array.of(0xef, 0xbb, 0xbf), b);
    },
  },
  {
    name: 'utf16',
    text: true,
    apply(b, rng) {
      const t = dec.decode(b);
      const be = rng() < 0.5;
      const out = new Uint8Array(2 + 2 * t.length);
      out[0] = be ? 0xfe : 0xff;
      out[1] = be ? 0xff : 0xfe;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        out[2 + 2 * i + (be ? 1 : 0)] = c & 0xff;
        out[2 + 2 * i + (be ? 0 : 1)] = c >> 8;
      }
      return rng() < 0.3 ? out.subarray(2) : out;
    },
  },
];

/** Applies 1–4 mutations suited to the input; returns the result and the mutation names in order. */
export function mutate(b: Uint8Array, isText: boolean, rng: Rng, other: Uint8Array): { bytes: Uint8Array; steps: string[] } {
  const pool = isText ? [...TEXT_MUTATIONS, ...TEXT_MUTATIONS, ...BYTE_MUTATIONS] : BYTE_MUTATIONS;
  const n = 1 + Math.floor(-Math.log2(1 - rng() * 0.9375)); // 1 (half the time), 2, 3 or 4
  let out = b;
  const steps: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = pick(rng, pool);
    out = m.apply(out, rng, other);
    steps.push(m.name);
  }
  return { bytes: out, steps };
}
