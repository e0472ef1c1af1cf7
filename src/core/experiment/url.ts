/**
 * The experiment spec in a URL hash: `#v=1&trace=demo&ctx=3&hor=2&…`, readable keys, every key declared once
 * in URL_KEYS with the spec field it holds and how its text is read. Decoding never throws and never acts:
 * unknown keys, malformed or out-of-range values are reported (one message each) and replaced by defaults;
 * the caller decides what to do with `invalid` keys (e.g. not load a refused trace).
 */
import { TASK_KINDS, VISIBILITIES } from '../tasks/task';
import { modelConfigSchema as interLayerConfigSchema } from './modelConfig';
import {
  BACKEND_PREFERENCES,
  defaultSpec,
  experimentSpecSchema,
  MAX_DATASET_FILTER,
  MAX_DATASET_NAME,
  MODEL_KINDS,
  PANELS,
  SPEC_VERSION,
  type ExperimentSpec,
} from './spec';
import { MAX_TRACE_REF_LENGTH, quote } from './traceRef';

// ---- value codecs: text <-> typed value, with a message for text that is not a value of the type -------------

interface Codec<T> {
  /** `raw` are the key's decoded values in order (several only for list keys). */
  read(raw: string[]): { ok: true; value: T } | { ok: false; message: string };
  write(value: T): string[];
  /** Whether the key may repeat (lists); other keys given twice are reported. */
  repeats?: boolean;
}

const MAX_NUMBER_TEXT = 32;

const intCodec: Codec<number> = {
  read([s]) {
    if (!/^-?\d{1,16}$/.test(s)) return { ok: false, message: `must be an integer, got ${quote(s, 40)}` };
    const n = Number(s);
    return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, message: `integer ${quote(s, 40)} is too large` };
  },
  write: (n) => [String(n)],
};

const numCodec: Codec<number> = {
  read([s]) {
    if (s.length > MAX_NUMBER_TEXT || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$/.test(s))
      return { ok: false, message: `must be a decimal number, got ${quote(s, 40)}` };
    const n = Number(s);
    return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: `number ${quote(s, 40)} is out of range` };
  },
  // String() is the shortest text that reads back as the same double.
  write: (n) => [String(n)],
};

/** A number or `auto` (chosen from the data). */
function autoOr(c: Codec<number>): Codec<number | 'auto'> {
  return {
    read(raw) {
      return raw[0] === 'auto' ? { ok: true, value: 'auto' } : c.read(raw);
    },
    write: (v) => (v === 'auto' ? ['auto'] : c.write(v)),
  };
}

const boolCodec: Codec<boolean> = {
  read([s]) {
    if (s === '1' || s === 'true') return { ok: true, value: true };
    if (s === '0' || s === 'false') return { ok: true, value: false };
    return { ok: false, message: `must be 0 or 1, got ${quote(s, 40)}` };
  },
  write: (b) => [b ? '1' : '0'],
};

function strCodec(max: number): Codec<string> {
  return {
    read([s]) {
      return s.length <= max ? { ok: true, value: s } : { ok: false, message: `is ${s.length} characters long, at most ${max} allowed` };
    },
    write: (s) => [s],
  };
}

function enumCodec<const V extends string>(values: readonly V[]): Codec<V> {
  return {
    read([s]) {
      return (values as readonly string[]).includes(s)
        ? { ok: true, value: s as V }
        : { ok: false, message: `must be one of ${values.join(', ')}; got ${quote(s, 40)}` };
    },
    write: (v) => [v],
  };
}

function listCodec(maxItems: number, maxLength: number): Codec<string[]> {
  return {
    repeats: true,
    read(raw) {
      if (raw.length > maxItems) return { ok: false, message: `is given ${raw.length} times, at most ${maxItems} allowed` };
      const long = raw.find((s) => s.length > maxLength);
      if (long !== undefined) return { ok: false, message: `has a value of ${long.length} characters, at most ${maxLength} allowed` };
      return { ok: true, value: raw };
    },
    write: (a) => a,
  };
}

// ---- the key table --------------------------------------------------------------------------------------------

/** Dotted paths to the spec's leaves (arrays count as leaves). */
type Leaves<T> = {
  [K in keyof T & string]: T[K] extends readonly unknown[] ? K : T[K] extends object ? `${K}.${Leaves<T[K]>}` : K;
}[keyof T & string];
type At<T, P extends string> = P extends `${infer H}.${infer R}` ? (H extends keyof T ? At<T[H], R> : never) : P extends keyof T ? T[P] : never;

export type SpecPath = Leaves<ExperimentSpec>;

export interface UrlKey<P extends SpecPath = SpecPath> {
  key: string;
  path: P;
  codec: Codec<At<ExperimentSpec, P>>;
}

function k<P extends SpecPath>(key: string, path: P, codec: Codec<At<ExperimentSpec, P>>): UrlKey<P> {
  return { key, path, codec: codec as Codec<At<ExperimentSpec, P>> };
}

/** Every URL key, in the order links are written. Bounds beyond the text form live in the spec schema. */
export const URL_KEYS = [
  k('v', 'v', intCodec as Codec<1>),
  k('trace', 'trace', strCodec(MAX_TRACE_REF_LENGTH)),
  k('ds', 'datasets', listCodec(MAX_DATASET_FILTER, MAX_DATASET_NAME)),
  k('task', 'task.kind', enumCodec(TASK_KINDS)),
  k('vis', 'task.visibility', enumCodec(VISIBILITIES)),
  k('ctx', 'task.context', intCodec),
  k('hor', 'task.horizon', intCodec),
  k('test', 'task.testFraction', numCodec),
  k('model', 'model.kind', enumCodec(MODEL_KINDS)),
  k('hist', 'model.history', intCodec),
  k('vocab', 'model.vocabSize', intCodec),
  k('dynctx', 'model.dynamicContext', boolCodec),
  k('preset', 'model.preset', enumCodec(interLayerConfigSchema.shape.preset.unwrap().options)),
  k('lr', 'model.lr', autoOr(numCodec)),
  k('sched', 'model.lrSchedule', enumCodec(interLayerConfigSchema.shape.lrSchedule.unwrap().options)),
  k('wd', 'model.weightDecay', numCodec),
  k('clip', 'model.clipNorm', numCodec),
  k('drop', 'model.dropout', numCodec),
  k('batch', 'model.batchSize', autoOr(intCodec)),
  k('emb', 'model.embeddingDim', intCodec),
  k('hidden', 'model.hiddenUnits', intCodec),
  k('epochs', 'model.epochs', autoOr(intCodec)),
  k('lsh', 'model.layerSpecificHeads', boolCodec),
  k('patience', 'model.earlyStoppingPatience', autoOr(intCodec)),
  k('val', 'model.valFraction', numCodec),
  k('fused', 'model.fusedTraining', boolCodec),
  k('seed', 'seed', intCodec),
  k('backend', 'backend', enumCodec(BACKEND_PREFERENCES)),
  k('panel', 'view.panel', enumCodec(PANELS)),
  k('layer', 'view.layer', intCodec),
] as const satisfies readonly UrlKey<SpecPath>[];

export type UrlKeyName = (typeof URL_KEYS)[number]['key'];

const BY_KEY = new Map<string, UrlKey>(URL_KEYS.map((d) => [d.key, d as unknown as UrlKey]));
const BY_PATH = new Map<string, UrlKey>(URL_KEYS.map((d) => [d.path, d as unknown as UrlKey]));

// ---- bounds on untrusted input -------------------------------------------------------------------------------

export const URL_LIMITS = {
  /** Characters of the whole hash; a full link is well under 1,000. */
  maxHashLength: 8192,
  /** `key=value` parts. */
  maxParts: 128,
  /** Messages reported; the rest are counted. */
  maxMessages: 20,
} as const;

// ---- encode ---------------------------------------------------------------------------------------------------

function getPath(obj: unknown, path: string): unknown {
  let o = obj as Record<string, unknown>;
  for (const p of path.split('.')) o = o[p] as Record<string, unknown>;
  return o;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts[parts.length - 1]] = value;
}

function deletePath(obj: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let o: Record<string, unknown> | undefined = obj;
  for (const p of parts.slice(0, -1)) o = o?.[p] as Record<string, unknown> | undefined;
  if (o) delete o[parts[parts.length - 1]];
}

/** encodeURIComponent, leaving the characters that are plain in a fragment and make paths and URLs readable. */
function encodeValue(s: string): string {
  return encodeURIComponent(s).replace(/%(2F|3A|40|2C|3B|24|21|27|28|29|2A)/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * The whole spec as a hash (without '#'). Every key is written, defaults included, so a link replays the same
 * experiment even after a later version changes a default.
 */
export function encodeSpecHash(spec: ExperimentSpec): string {
  const parts: string[] = [];
  for (const d of URL_KEYS) {
    const values = (d.codec as Codec<unknown>).write(getPath(spec, d.path));
    for (const v of values) parts.push(`${d.key}=${encodeValue(v)}`);
  }
  return parts.join('&');
}

// ---- decode ---------------------------------------------------------------------------------------------------

export interface DecodedSpec {
  /** The spec to use: the link's valid values over the defaults. */
  spec: ExperimentSpec;
  /** One line per problem; empty for a clean link. Untrusted text in them is quoted and cut short. */
  messages: string[];
  /** Keys whose values were refused (their defaults are in `spec`); 'trace' here means: load nothing. */
  invalid: string[];
  /** The message of each refused key, e.g. to show a refused trace where the trace set would be. */
  problems: Record<string, string>;
  /** True when the link was refused as a whole (too long, another version): `spec` is the default. */
  rejected: boolean;
}

function decodeComponent(s: string): string | null {
  try {
    // '+' is a space in form encoding (URLSearchParams writes it); our own links write %20 and %2B.
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

function rejectAll(message: string): DecodedSpec {
  return { spec: defaultSpec(), messages: [message], invalid: ['*'], problems: { '*': message }, rejected: true };
}

/** Reads a hash (with or without '#'). An empty hash is the default experiment. */
export function decodeSpecHash(hash: string): DecodedSpec {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (text.length > URL_LIMITS.maxHashLength)
    return rejectAll(`link: the experiment part is ${text.length} characters long, more than ${URL_LIMITS.maxHashLength}; ignored`);
  const parts = text.split('&').filter((p) => p !== '');
  if (parts.length > URL_LIMITS.maxParts) return rejectAll(`link: ${parts.length} parameters, more than ${URL_LIMITS.maxParts}; ignored`);

  const messages: string[] = [];
  const problems: Record<string, string> = {};
  const refuse = (key: string, what: string) => {
    // A refused trace is not replaced by the demo: the caller loads nothing and shows why.
    const message = `link: "${key}" ${what}; ${key === 'trace' ? 'nothing was loaded' : 'the default is used'}`;
    messages.push(message);
    problems[key] = message;
  };
  const values = new Map<string, string[]>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const def = BY_KEY.get(rawKey);
    if (!def) {
      messages.push(`link: unknown key ${quote(decodeComponent(rawKey) ?? rawKey, 40)} ignored`);
      continue;
    }
    const value = decodeComponent(eq < 0 ? '' : part.slice(eq + 1));
    if (value === null) {
      refuse(def.key, 'has a malformed %-escape');
      continue;
    }
    const list = values.get(def.key) ?? [];
    list.push(value);
    values.set(def.key, list);
  }

  const version = values.get('v');
  if (version && !(version.length === 1 && version[0] === String(SPEC_VERSION)))
    return rejectAll(`link: version ${quote(version.join(','), 20)} is not supported (this page reads version ${SPEC_VERSION}); nothing in it was used`);
  values.delete('v');

  const input: Record<string, unknown> = { v: SPEC_VERSION };
  for (const [key, raw] of values) {
    const def = BY_KEY.get(key)!;
    if (raw.length > 1 && !def.codec.repeats) {
      refuse(key, `is given ${raw.length} times`);
      continue;
    }
    const r = def.codec.read(raw);
    if (!r.ok) {
      refuse(key, r.message);
      continue;
    }
    setPath(input, def.path, r.value);
  }

  // Range and cross-field checks are the schema's: drop each value it refuses, report it, and parse again.
  for (let round = 0; round <= URL_KEYS.length; round++) {
    const r = experimentSpecSchema.safeParse(input);
    if (r.success) return { spec: r.data, messages: capMessages(messages), invalid: Object.keys(problems), problems, rejected: false };
    for (const issue of r.error.issues) {
      const path = issue.path.map(String);
      // An issue on a list element (datasets.3) or on the leaf itself: find the declared leaf above it.
      let def: UrlKey | undefined;
      for (let n = path.length; n > 0 && !def; n--) def = BY_PATH.get(path.slice(0, n).join('.'));
      if (!def) return rejectAll(`link: ${path.join('.') || '(spec)'}: ${issue.message}; ignored`);
      if (def.key in problems) continue;
      refuse(def.key, issue.message);
      deletePath(input, def.path);
    }
  }
  return rejectAll('link: could not be read; ignored');
}

function capMessages(messages: string[]): string[] {
  if (messages.length <= URL_LIMITS.maxMessages) return messages;
  return [...messages.slice(0, URL_LIMITS.maxMessages), `link: ${messages.length - URL_LIMITS.maxMessages} more problems not shown`];
}

// ---- one field at a time (form inputs) ------------------------------------------------------------------------

function keyDef(key: UrlKeyName): UrlKey {
  return BY_KEY.get(key)!;
}

/** A field's value as the text a link (and a form input) holds. Lists join with ", " for display. */
export function keyText(spec: ExperimentSpec, key: UrlKeyName): string {
  const d = keyDef(key);
  return (d.codec as Codec<unknown>).write(getPath(spec, d.path)).join(', ');
}

/**
 * Sets one field from its text, read and validated exactly as a link's value would be (cross-field rules too).
 * On error the spec is left as it was and the message says why.
 */
export function withKeyValue(spec: ExperimentSpec, key: UrlKeyName, text: string): { ok: true; spec: ExperimentSpec } | { ok: false; message: string } {
  const d = keyDef(key);
  const r = d.codec.read(
    d.codec.repeats
      ? text
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : [text.trim()],
  );
  if (!r.ok) return { ok: false, message: r.message };
  const draft = structuredClone(spec) as unknown as Record<string, unknown>;
  setPath(draft, d.path, r.value);
  const parsed = experimentSpecSchema.safeParse(draft);
  if (parsed.success) return { ok: true, spec: parsed.data };
  return { ok: false, message: parsed.error.issues.map((i) => i.message).join('; ') };
}
