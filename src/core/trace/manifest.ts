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

/** Parses and validates manifest.json text; `where` names the file in errors. */
export function parseManifest(text: string, where = 'manifest.json'): Manifest {
  if (text.length > LIMITS.maxManifestBytes) throw new TraceError(`manifest is larger than ${LIMITS.maxManifestBytes} bytes`, where);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TraceError(`not valid JSON (${(e as Error).message})`, where);
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    if (o.format !== FORMAT_NAME) throw new TraceError(`field "format" is ${JSON.stringify(o.format)}, expected "${FORMAT_NAME}"`, where);
    if (o.version !== FORMAT_VERSION)
      throw new TraceError(`format version ${JSON.stringify(o.version)} is not supported (this reader reads version ${FORMAT_VERSION})`, where);
  } else {
    throw new TraceError('expected a JSON object', where);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new TraceError(describeIssue(r.error.issues[0]), where);
  return r.data as Manifest;
}

export function serializeManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}
