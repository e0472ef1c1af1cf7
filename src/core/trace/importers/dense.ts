/**
 * Shared assembly for the layouts that store routing densely, one row per token with every MoE layer
 * (vLLM routed_experts, SGLang base64, HF router logits, FLAME-MoE actives): sequences of [rows][L][K] expert
 * ids (optionally weights and token ids) become one chunk, every id checked and errors naming file and record.
 */
import { LIMITS } from '../manifest';
import { TraceError, type TraceChunk } from '../types';
import { buildResult, checkNumExpertsOption, checkTopK, ExpertChecker, resolveNumExperts, type ImportOptions, type ImportResult } from './common';

/** One sequence of a dense layout. */
export interface DenseSeq {
  /** Names the record in errors, e.g. "out.jsonl:3" or "pass_0.safetensors batch row 1". */
  where: string;
  dataset: string;
  rows: number;
  /** rows * L * K expert ids, row-major then layer then rank. */
  experts: ArrayLike<number>;
  weights?: ArrayLike<number>;
  /** rows token ids (-1 where unknown). */
  tokenIds?: ArrayLike<number>;
  /** Positions of the rows; 0..rows-1 when absent. */
  pos?: ArrayLike<number>;
}

export interface DenseShape {
  importer: string;
  files: string[];
  /** Model layer id of each of the L MoE layers. */
  moeLayerIds: number[];
  topK: number;
  hasWeights: boolean;
  hasTokenIds: boolean;
  /** What the records are called in "no records" errors, e.g. "requests". */
  what: string;
}

export function buildDense(seqs: DenseSeq[], shape: DenseShape, opts: ImportOptions, records: number): ImportResult {
  const givenE = checkNumExpertsOption(opts.numExperts);
  const L = shape.moeLayerIds.length;
  const K = shape.topK;
  const where0 = seqs[0]?.where ?? shape.files.join(', ');
  const n = seqs.reduce((a, s) => a + s.rows, 0);
  if (n === 0) throw new TraceError(`empty input: no tokens in any of the ${shape.what}`, shape.files.join(', ') || '(no files)');
  if (L < 1) throw new TraceError('no MoE layer found', where0);
  if (L > LIMITS.maxLayers) throw new TraceError(`${L} MoE layers; at most ${LIMITS.maxLayers} are supported`, where0);
  const badK = checkTopK(K, givenE, 'top-k');
  if (badK !== null) throw new TraceError(badK, where0);

  const checker = new ExpertChecker(givenE);
  const datasets: string[] = [];
  const datasetIndex = new Map<string, number>();
  const chunk: TraceChunk = {
    tokens: n,
    seq: new Int32Array(n),
    pos: new Int32Array(n),
    dataset: new Uint16Array(n),
    experts: new Int16Array(n * L * K),
  };
  if (shape.hasWeights) chunk.weights = new Float32Array(n * L * K);
  if (shape.hasTokenIds) chunk.tokenId = new Int32Array(n).fill(-1);
  let t0 = 0;
  let sequences = 0;
  seqs.forEach((s) => {
    if (s.rows === 0) return;
    let d = datasetIndex.get(s.dataset);
    if (d === undefined) {
      if (datasets.length >= LIMITS.maxDatasets) throw new TraceError(`more than ${LIMITS.maxDatasets} datasets`, s.where);
      d = datasets.length;
      datasets.push(s.dataset);
      datasetIndex.set(s.dataset, d);
    }
    for (let i = 0; i < s.rows; i++) {
      const t = t0 + i;
      chunk.seq[t] = sequences;
      chunk.dataset[t] = d;
      const p = s.pos ? s.pos[i] : i;
      if (i > 0 && p <= chunk.pos[t - 1]) throw new TraceError(`token ${i}: position ${p} does not follow ${chunk.pos[t - 1]}`, s.where);
      chunk.pos[t] = p;
      if (chunk.tokenId && s.tokenIds) chunk.tokenId[t] = s.tokenIds[i];
      for (let l = 0; l < L; l++) {
        const at = (i * L + l) * K;
        const bad = checker.check(s.experts, at, K, `token ${i} layer ${shape.moeLayerIds[l]}`);
        if (bad !== null) throw new TraceError(bad, s.where);
        const out = (t * L + l) * K;
        for (let j = 0; j < K; j++) chunk.experts[out + j] = s.experts[at + j];
        if (chunk.weights && s.weights)
          for (let j = 0; j < K; j++) {
            const w = s.weights[at + j];
            if (!Number.isFinite(w)) throw new TraceError(`token ${i} layer ${shape.moeLayerIds[l]}: weight ${w} is not a finite number`, s.where);
            chunk.weights[out + j] = w;
          }
      }
    }
    t0 += s.rows;
    sequences++;
  });
  const numExperts = resolveNumExperts(givenE, checker.maxId, where0);
  const r = buildResult(
    {
      importer: shape.importer,
      files: shape.files,
      opts,
      numLayers: L,
      numExperts,
      topK: K,
      moeLayerIds: shape.moeLayerIds,
      datasets,
      hasWeights: shape.hasWeights,
      hasTokenText: false,
      droppedTokens: 0,
    },
    chunk,
    records,
    sequences,
  );
  r.set.manifest.hasTokenIds = shape.hasTokenIds;
  return r;
}

/** Checks that model layer ids are strictly increasing integers (dense layouts list them in order). */
export function checkLayerIds(ids: number[], where: string): void {
  for (let i = 0; i < ids.length; i++)
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || (i > 0 && ids[i] <= ids[i - 1]))
      throw new TraceError(`layer ids must be increasing integers ≥ 0, got ${ids.join(', ')}`, where);
}

/** A value described for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Parses one JSON Lines record into an object, or throws naming the line. */
export function jsonRecord(line: string, where: string): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    throw new TraceError(`malformed JSON: ${(e as Error).message}`, where);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TraceError(`expected a JSON object per line, got ${describe(obj)}`, where);
  return obj as Record<string, unknown>;
}
