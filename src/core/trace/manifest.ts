import { z } from 'zod';
import { FORMAT_NAME, FORMAT_VERSION, TraceError, type Manifest } from './types';

/** Bounds that keep a hostile manifest from asking for absurd allocations. */
export const LIMITS = {
  maxLayers: 1024,
  maxExperts: 32768,
  maxTopK: 256,
  maxShards: 100_000,
  maxShardTokens: 50_000_000,
  maxDatasets: 65_535,
  maxManifestBytes: 16 * 1024 * 1024,
  /** Tokens over all shards (row indices are 32-bit in the analyses). */
  maxTotalTokens: 2 ** 31 - 1,
  /** Values of the widest column (experts, or logits) of one shard: one typed array must hold them. */
  maxShardValues: 2 ** 31 - 1,
} as const;

const shardFile = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._-]+$/, 'a plain file name (letters, digits, ".", "_", "-")')
  .refine((s) => s !== '.' && s !== '..', 'a plain file name, not "." or ".."');

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const manifestSchema = z
  .object({
    format: z.literal(FORMAT_NAME),
    version: z.literal(FORMAT_VERSION),
    model: z.object({ name: z.string().max(1000), revision: z.string().max(1000).optional() }),
    engine: z.string().max(1000),
    quantization: z.string().max(100),
    numLayers: int(1, LIMITS.maxLayers),
    numExperts: int(2, LIMITS.maxExperts),
    topK: int(1, LIMITS.maxTopK),
    moeLayerIds: z.array(int(0, 1_000_000)).max(LIMITS.maxLayers),
    datasets: z.array(z.string().max(1000)).min(1).max(LIMITS.maxDatasets),
    hasWeights: z.boolean(),
    hasLogits: z.boolean(),
    hasTokenIds: z.boolean(),
    hasTokenText: z.boolean(),
    lookaheadHorizon: int(1, LIMITS.maxLayers).optional(),
    droppedTokens: int(0, Number.MAX_SAFE_INTEGER),
    shards: z
      .array(
        z.object({
          file: shardFile,
          tokens: int(0, LIMITS.maxShardTokens),
          sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
        }),
      )
      .max(LIMITS.maxShards),
    description: z.string().max(100_000).optional(),
    source: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.topK > m.numExperts) ctx.addIssue({ code: 'custom', path: ['topK'], message: `topK ${m.topK} exceeds numExperts ${m.numExperts}` });
    if (m.moeLayerIds.length !== m.numLayers)
      ctx.addIssue({ code: 'custom', path: ['moeLayerIds'], message: `has ${m.moeLayerIds.length} entries, numLayers is ${m.numLayers}` });
    for (let i = 1; i < m.moeLayerIds.length; i++)
      if (m.moeLayerIds[i] <= m.moeLayerIds[i - 1]) {
        ctx.addIssue({ code: 'custom', path: ['moeLayerIds', i], message: 'must be strictly increasing' });
        break;
      }
    let total = 0;
    const valuesPerToken = m.numLayers * Math.max(m.topK, m.hasLogits ? m.numExperts : 0, (m.lookaheadHorizon ?? 0) * m.numExperts);
    m.shards.forEach((s, i) => {
      total += s.tokens;
      if (s.tokens * valuesPerToken > LIMITS.maxShardValues)
        ctx.addIssue({
          code: 'custom',
          path: ['shards', i, 'tokens'],
          message: `${s.tokens} tokens of ${valuesPerToken} values each exceed the ${LIMITS.maxShardValues} values one shard may hold`,
        });
    });
    if (total > LIMITS.maxTotalTokens)
      ctx.addIssue({ code: 'custom', path: ['shards'], message: `${total} tokens in total exceed the ${LIMITS.maxTotalTokens} a trace set may hold` });
    const seen = new Set<string>();
    m.shards.forEach((s, i) => {
      if (seen.has(s.file)) ctx.addIssue({ code: 'custom', path: ['shards', i, 'file'], message: `"${s.file}" is listed twice` });
      seen.add(s.file);
    });
  });

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  return `field "${path}": ${issue.message}`;
}

/** Nesting a manifest may use (its own structure needs 3; `source` is free-form provenance). */
const MAX_JSON_DEPTH = 64;

/** Deepest nesting of arrays and objects in JSON text (strings skipped): recursive walks stay bounded. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \ */) i++;
    } else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** A value for an error message: short, one line, never a dump of hostile input. */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (v === undefined) return 'missing';
  return String(v);
}

/** The long arrays of a manifest: their limit and element type, checked before the schema walks them. */
const ARRAYS: [key: string, max: number, test: (v: unknown) => boolean, expected: string][] = [
  ['shards', LIMITS.maxShards, (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object'],
  ['datasets', LIMITS.maxDatasets, (v) => typeof v === 'string', 'a string'],
  ['moeLayerIds', LIMITS.maxLayers, (v) => typeof v === 'number', 'a number'],
];

/** Fails fast on an oversized array or the first element of a wrong type (the schema would list every one). */
function checkArrays(o: Record<string, unknown>, where: string): void {
  for (const [key, max, test, expected] of ARRAYS) {
    const a = o[key];
    if (!Array.isArray(a)) continue;
    if (a.length > max) throw new TraceError(`field "${key}": ${a.length} entries, at most ${max} allowed`, where);
    for (let i = 0; i < a.length; i++) if (!test(a[i])) throw new TraceError(`field "${key}.${i}": expected ${expected}, got ${describeValue(a[i])}`, where);
  }
}

/** Parses and validates manifest.json text; `where` names the file in errors. */
export function parseManifest(text: string, where = 'manifest.json'): Manifest {
  if (text.length > LIMITS.maxManifestBytes) throw new TraceError(`manifest is larger than ${LIMITS.maxManifestBytes} bytes`, where);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte order mark
  if (text.includes('\u0000') || text.startsWith('\ufffd\ufffd'))
    throw new TraceError('not UTF-8 JSON text (NUL characters or a UTF-16 byte order mark); write manifest.json as UTF-8', where);
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) throw new TraceError(`JSON nested ${depth} levels deep; a manifest needs at most ${MAX_JSON_DEPTH}`, where);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TraceError(`not valid JSON (${((e as Error).message ?? String(e)).slice(0, 200)})`, where);
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    if (o.format !== FORMAT_NAME) throw new TraceError(`field "format" is ${describeValue(o.format)}, expected "${FORMAT_NAME}"`, where);
    if (o.version !== FORMAT_VERSION)
      throw new TraceError(`format version ${describeValue(o.version)} is not supported (this reader reads version ${FORMAT_VERSION})`, where);
  } else {
    throw new TraceError('expected a JSON object', where);
  }
  checkArrays(raw as Record<string, unknown>, where);
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new TraceError(describeIssue(r.error.issues[0]), where);
  return r.data as Manifest;
}

export function serializeManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}
