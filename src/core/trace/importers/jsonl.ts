/**
 * JSONL routing logs (vLLM fused-MoE patch): one JSON object per (token, layer) line,
 * `{dataset, problem_id, layer, token_idx, experts, gating_probs}`. A sequence is (dataset, problem_id).
 */
import { LIMITS } from '../manifest';
import { TraceError, type TraceChunk } from '../types';
import {
  buildResult,
  checkLayerId,
  checkNumExpertsOption,
  checkTopK,
  ExpertChecker,
  lines,
  requireInput,
  requireTokens,
  resolveNumExperts,
  type ImportOptions,
  type ImportResult,
  type InputFile,
  orderedLayerIds,
} from './common';

const MAX_INT32 = 0x7fffffff;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function get(r: Record<string, unknown>, key: string, where: string): unknown {
  if (!Object.hasOwn(r, key)) throw new TraceError(`missing field "${key}"`, where);
  return r[key];
}

function getInt(r: Record<string, unknown>, key: string, max: number, where: string): number {
  const v = get(r, key, where);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw new TraceError(`field "${key}": expected an integer in 0..${max}, got ${describe(v)}`, where);
  return v;
}

function getNumbers(r: Record<string, unknown>, key: string, what: string, where: string): number[] {
  const v = get(r, key, where);
  if (!Array.isArray(v)) throw new TraceError(`field "${key}": expected an array of ${what}, got ${describe(v)}`, where);
  for (let i = 0; i < v.length; i++)
    if (typeof v[i] !== 'number') throw new TraceError(`field "${key}": expected an array of ${what}, element ${i} is ${describe(v[i])}`, where);
  return v as number[];
}

export function importJsonl(files: InputFile[], opts: ImportOptions = {}): ImportResult {
  const givenE = checkNumExpertsOption(opts.numExperts);
  const checker = new ExpertChecker(givenE);

  const datasets: string[] = [];
  const datasetIndex = new Map<string, number>();
  const seqIndex = new Map<string, number>();
  const seqDataset: number[] = [];
  const layerIds = new Set<number>();
  let topK = -1;
  let topKWhere = '';

  // Records in input order, columnar; experts/weights flat with topK entries each.
  const recSeq: number[] = [];
  const recTok: number[] = [];
  const recLayer: number[] = [];
  const recFile: number[] = [];
  const recLine: number[] = [];
  const recExperts: number[] = [];
  const recWeights: number[] = [];

  files.forEach((file, fi) => {
    for (const [line, lineNo] of lines(file.text)) {
      if (line.trim() === '') continue;
      const where = `${file.name}:${lineNo}`;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        throw new TraceError(`malformed JSON: ${(e as Error).message}`, where);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TraceError(`expected a JSON object per line, got ${describe(obj)}`, where);
      const r = obj as Record<string, unknown>;

      const dataset = get(r, 'dataset', where);
      if (typeof dataset !== 'string') throw new TraceError(`field "dataset": expected a string, got ${describe(dataset)}`, where);
      const problem = get(r, 'problem_id', where);
      if (typeof problem !== 'string' && !(typeof problem === 'number' && Number.isInteger(problem)))
        throw new TraceError(`field "problem_id": expected an integer or a string, got ${describe(problem)}`, where);
      const layer = get(r, 'layer', where);
      if (typeof layer !== 'number') throw new TraceError(`field "layer": expected an integer layer id, got ${describe(layer)}`, where);
      if (!layerIds.has(layer)) {
        const bad = checkLayerId(layer, layerIds.size, 'field "layer"');
        if (bad !== null) throw new TraceError(bad, where);
        layerIds.add(layer);
      }
      const tokenIdx = getInt(r, 'token_idx', MAX_INT32, where);
      const experts = getNumbers(r, 'experts', 'integer expert ids', where);
      const probs = getNumbers(r, 'gating_probs', 'numbers', where);

      if (topK < 0) {
        const bad = checkTopK(experts.length, givenE, 'field "experts"');
        if (bad !== null) throw new TraceError(bad, where);
        topK = experts.length;
        topKWhere = where;
      } else if (experts.length !== topK) {
        throw new TraceError(`field "experts": expected ${topK} expert ids (top-k set by ${topKWhere}), got ${experts.length}`, where);
      }
      const bad = checker.check(experts, 0, topK, 'field "experts"');
      if (bad !== null) throw new TraceError(bad, where);
      if (probs.length !== topK) throw new TraceError(`field "gating_probs": expected ${topK} weights (one per expert), got ${probs.length}`, where);
      for (const p of probs) if (!Number.isFinite(p)) throw new TraceError(`field "gating_probs": expected finite numbers, got ${p}`, where);

      let d = datasetIndex.get(dataset);
      if (d === undefined) {
        if (datasets.length >= LIMITS.maxDatasets) throw new TraceError(`field "dataset": more than ${LIMITS.maxDatasets} datasets`, where);
        d = datasets.length;
        datasets.push(dataset);
        datasetIndex.set(dataset, d);
      }
      // JSON.stringify keeps problem_id 1 and "1" apart and cannot collide across the pair.
      const key = JSON.stringify([dataset, problem]);
      let s = seqIndex.get(key);
      if (s === undefined) {
        s = seqDataset.length;
        seqDataset.push(d);
        seqIndex.set(key, s);
      }

      recSeq.push(s);
      recTok.push(tokenIdx);
      recLayer.push(layer);
      recFile.push(fi);
      recLine.push(lineNo);
      for (let j = 0; j < topK; j++) {
        recExperts.push(experts[j]);
        recWeights.push(probs[j]);
      }
    }
  });

  const records = recSeq.length;
  requireInput(files, records, 'JSON records');
  const whereOf = (rec: number) => `${files[recFile[rec]].name}:${recLine[rec]}`;
  const numExperts = resolveNumExperts(givenE, checker.maxId, whereOf(0));
  const moeLayerIds = orderedLayerIds(layerIds, opts.allowLayerGaps, files[0].name);
  const L = moeLayerIds.length;
  const rank = new Map<number, number>(moeLayerIds.map((id, i) => [id, i]));

  // Group records by (sequence, token) with a linked list through `next`: memory stays linear in the
  // record count whatever the layer count (a per-token L-slot table could be L times the input).
  const next = new Int32Array(records).fill(-1);
  const tokensOfSeq: Map<number, number>[] = seqDataset.map(() => new Map());
  for (let r = 0; r < records; r++) {
    const m = tokensOfSeq[recSeq[r]];
    const head = m.get(recTok[r]);
    if (head !== undefined) next[r] = head;
    m.set(recTok[r], r);
  }

  // Walk tokens per sequence in position order: reject duplicates, keep tokens that have every layer.
  const slot = new Int32Array(L).fill(-1);
  const keptHead: number[] = [];
  const keptSeq: number[] = [];
  let dropped = 0;
  const seqsKept = new Set<number>();
  tokensOfSeq.forEach((m, s) => {
    const toks = [...m.keys()].sort((a, b) => a - b);
    for (const t of toks) {
      const head = m.get(t)!;
      let count = 0;
      for (let r = head; r >= 0; r = next[r]) {
        const l = rank.get(recLayer[r])!;
        // The chain runs newest first, so slot[l] is the later of the two records.
        if (slot[l] >= 0)
          throw new TraceError(
            `duplicate record for sequence ${[...seqIndex.keys()][s]} token_idx ${t} layer ${recLayer[r]} (also at ${whereOf(r)})`,
            whereOf(slot[l]),
          );
        slot[l] = r;
        count++;
      }
      for (let r = head; r >= 0; r = next[r]) slot[rank.get(recLayer[r])!] = -1;
      if (count === L) {
        keptHead.push(head);
        keptSeq.push(s);
        seqsKept.add(s);
      } else dropped++;
    }
  });
  requireTokens(files, keptHead.length, dropped, L);

  const n = keptHead.length;
  const K = topK;
  const chunk: TraceChunk = {
    tokens: n,
    seq: Int32Array.from(keptSeq),
    pos: new Int32Array(n),
    dataset: new Uint16Array(n),
    experts: new Int16Array(n * L * K),
    weights: new Float32Array(n * L * K),
  };
  for (let t = 0; t < n; t++) {
    const head = keptHead[t];
    chunk.pos[t] = recTok[head];
    chunk.dataset[t] = seqDataset[keptSeq[t]];
    for (let r = head; r >= 0; r = next[r]) {
      const out = (t * L + rank.get(recLayer[r])!) * K;
      for (let j = 0; j < K; j++) {
        chunk.experts[out + j] = recExperts[r * K + j];
        chunk.weights![out + j] = recWeights[r * K + j];
      }
    }
  }

  return buildResult(
    {
      importer: 'jsonl',
      files: files.map((f) => f.name),
      opts,
      numLayers: L,
      numExperts,
      topK: K,
      moeLayerIds,
      datasets,
      hasWeights: true,
      hasTokenText: false,
      droppedTokens: dropped,
    },
    chunk,
    records,
    seqsKept.size,
  );
}
