/**
 * Shared pieces of the raw-log importers: options, result, expert-id checks and manifest assembly.
 * Pure TypeScript (no DOM, no Node APIs) so importers run in browser workers and in Node alike.
 */
import { LIMITS } from '../manifest';
import { FORMAT_NAME, FORMAT_VERSION, TraceError, type Manifest, type TraceChunk, type TraceSet } from '../types';

export interface ImportOptions {
  /** Model name for the manifest; "unknown" when not given. */
  model?: string;
  /** Routed experts per layer (E). When absent it is inferred as max expert id + 1. */
  numExperts?: number;
  /** hook-csv only: dataset name for every file (default: the file's parent folder, else "default"). */
  dataset?: string;
  engine?: string;
  quantization?: string;
  description?: string;
  /**
   * Accept layer ids with holes (models whose MoE layers are interleaved with dense ones). Off by default:
   * a hole usually means a layer's records were lost, and silently renumbering layers would corrupt analyses.
   */
  allowLayerGaps?: boolean;
  /** sglang: layers per token in the flattened routed_experts (dense ones included, marked -1). */
  layers?: number;
  /** sglang: experts per token and layer; hf-router-logits: top-k when the file's metadata lacks it. */
  topK?: number;
}

export interface ImportResult {
  /** Manifest with `shards: []` (the writer fills them) and one chunk holding every kept token. */
  set: TraceSet;
  /** Records read: JSONL lines or CSV data rows. */
  records: number;
  /** Complete tokens kept. */
  tokens: number;
  /** Tokens dropped because some layer was missing (also in manifest.droppedTokens). */
  droppedTokens: number;
  /** Sequences with at least one kept token. */
  sequences: number;
}

export interface InputFile {
  name: string;
  text: string;
}

/** The largest expert id the Int16 `experts` column (and the format's E ≤ 32768) can hold. */
export const MAX_EXPERT_ID = LIMITS.maxExperts - 1;
const MAX_INT32 = 0x7fffffff;

/** Validates opts.numExperts up front, so range checks per record can trust it. */
export function checkNumExpertsOption(n: number | undefined): number | undefined {
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 2 || n > LIMITS.maxExperts)
    throw new TraceError(`numExperts must be an integer in 2..${LIMITS.maxExperts}, got ${n}`, 'options');
  return n;
}

/**
 * Checks one record's expert ids: integers, in range, distinct. A stamp array sized to the id space keeps the
 * distinctness test O(K) per record without allocating (K can be large in hostile input).
 */
export class ExpertChecker {
  private readonly stamp = new Int32Array(LIMITS.maxExperts);
  private epoch = 0;
  /** Largest id seen so far (for inferring E). */
  maxId = -1;

  constructor(private readonly numExperts: number | undefined) {}

  /**
   * Checks `ids[start..start+count)`. Returns an error message naming `field`, or null when fine; the caller
   * adds where (working out a CSV line number costs a re-parse, so it is done only on error).
   */
  check(ids: ArrayLike<number>, start: number, count: number, field: string): string | null {
    const limit = this.numExperts ?? LIMITS.maxExperts;
    if (++this.epoch === MAX_INT32) {
      this.stamp.fill(0);
      this.epoch = 1;
    }
    for (let j = 0; j < count; j++) {
      const id = ids[start + j];
      if (!Number.isInteger(id)) return `${field}: expert ids must be integers, got ${id}`;
      if (id < 0 || id >= limit) {
        const want = this.numExperts === undefined ? `0..${MAX_EXPERT_ID}` : `0..${limit - 1} (numExperts ${limit})`;
        return `${field}: expert id ${id} out of range, expected ${want}`;
      }
      if (this.stamp[id] === this.epoch) return `${field}: expert ${id} listed twice in one record`;
      this.stamp[id] = this.epoch;
      if (id > this.maxId) this.maxId = id;
    }
    return null;
  }
}

/** Checks top-k against the format's limits: an error message naming `field`, or null. */
export function checkTopK(k: number, numExperts: number | undefined, field: string): string | null {
  if (k < 1) return `${field}: expected at least one expert id, got an empty list`;
  if (k > LIMITS.maxTopK) return `${field}: ${k} expert ids is more than the supported top-k ${LIMITS.maxTopK}`;
  if (numExperts !== undefined && k > numExperts) return `${field}: ${k} expert ids but numExperts is ${numExperts}`;
  return null;
}

/** Checks a model layer id as it is first seen (`distinct` layer ids so far): an error message, or null. */
export function checkLayerId(id: number, distinct: number, field: string): string | null {
  if (!Number.isInteger(id) || id < 0 || id > 1_000_000) return `${field}: expected an integer layer id in 0..1000000, got ${id}`;
  if (distinct >= LIMITS.maxLayers) return `${field}: more than ${LIMITS.maxLayers} distinct layer ids`;
  return null;
}

/** The distinct layer ids in order; a hole between the first and last is an error unless allowed. */
export function orderedLayerIds(ids: ReadonlySet<number>, allowGaps: boolean | undefined, where: string): number[] {
  const sorted = [...ids].sort((a, b) => a - b);
  if (!allowGaps)
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i] !== sorted[i - 1] + 1)
        throw new TraceError(
          `layer ${sorted[i - 1] + 1} is missing in every record (layer ids ${sorted[0]}..${sorted[sorted.length - 1]} have a hole); ` +
            'if the model interleaves dense and MoE layers, import with allowLayerGaps (CLI: --allow-layer-gaps)',
          where,
        );
  return sorted;
}

/** E = opts.numExperts, else inferred from the largest id (the format needs E ≥ 2). */
export function resolveNumExperts(given: number | undefined, maxId: number, where: string): number {
  if (given !== undefined) return given;
  const e = maxId + 1;
  if (e < 2) throw new TraceError(`numExperts: inferred ${e} from the largest expert id ${maxId}; pass numExperts (≥ 2)`, where);
  return e;
}

/** Line iterator over text, 1-based numbers, CR of CRLF removed; a BOM at the start is skipped. */
export function* lines(text: string): Generator<[line: string, lineNo: number]> {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let n = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    n++;
    const stop = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    yield [text.slice(pos, stop), n];
    pos = end + 1;
  }
}

/** Name of the folder holding `name` ("a/b/c.csv" → "b"), or undefined for a bare name. */
export function parentFolder(name: string): string | undefined {
  const parts = name.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

export interface ManifestFields {
  importer: string;
  files: string[];
  opts: ImportOptions;
  numLayers: number;
  numExperts: number;
  topK: number;
  moeLayerIds: number[];
  datasets: string[];
  hasWeights: boolean;
  hasTokenText: boolean;
  droppedTokens: number;
}

export function buildResult(f: ManifestFields, chunk: TraceChunk, records: number, sequences: number): ImportResult {
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    model: { name: f.opts.model ?? 'unknown' },
    engine: f.opts.engine ?? 'unknown',
    quantization: f.opts.quantization ?? 'unknown',
    numLayers: f.numLayers,
    numExperts: f.numExperts,
    topK: f.topK,
    moeLayerIds: f.moeLayerIds,
    datasets: f.datasets,
    hasWeights: f.hasWeights,
    hasLogits: false,
    hasTokenIds: false,
    hasTokenText: f.hasTokenText,
    droppedTokens: f.droppedTokens,
    shards: [],
    source: { importer: f.importer, files: f.files },
  };
  if (f.opts.description !== undefined) manifest.description = f.opts.description;
  return { set: { manifest, chunks: [chunk] }, records, tokens: chunk.tokens, droppedTokens: f.droppedTokens, sequences };
}

/** Throws when no file has any record. */
export function requireInput(files: readonly InputFile[], records: number, what: string): void {
  if (records === 0) throw new TraceError(`empty input: no ${what} found`, files.length ? files.map((f) => f.name).join(', ') : '(no files)');
}

/** Throws when every token was dropped: a trace set with no token is of no use and usually means a wrong layer set. */
export function requireTokens(files: readonly InputFile[], tokens: number, dropped: number, numLayers: number): void {
  if (tokens === 0) throw new TraceError(`no complete token: all ${dropped} tokens lack some of the ${numLayers} layers`, files.map((f) => f.name).join(', '));
}
