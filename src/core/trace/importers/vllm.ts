/**
 * vLLM routed experts: JSON Lines, one request per line, `routed_experts` nested [tokens][moe layers][top_k]
 * (CompletionOutput.routed_experts), optional `prompt_token_ids` / `output_token_ids` (vLLM routes every token
 * but the last, so the ids may be one longer than the rows: rows align to the first ids), `request_id`,
 * `prompt`, `text`. Also NumPy `.npy` (one sequence) and `.npz` (one sequence per array) of [tokens, layers, top_k].
 */
import { unzipSync } from 'fflate';
import { TraceError } from '../types';
import { lines, type ImportOptions, type ImportResult } from './common';
import { naturalCompare } from './hookCsv';
import { buildDense, describe, jsonRecord, type DenseSeq } from './dense';

export interface BinaryInput {
  name: string;
  bytes: Uint8Array;
}

export interface TextInput {
  name: string;
  text: string;
}

function intList(v: unknown, field: string, where: string): number[] {
  if (!Array.isArray(v)) throw new TraceError(`field "${field}": expected an array of integer token ids, got ${describe(v)}`, where);
  for (let i = 0; i < v.length; i++)
    if (typeof v[i] !== 'number' || !Number.isInteger(v[i]) || v[i] < 0 || v[i] > 0x7fffffff)
      throw new TraceError(`field "${field}": element ${i} is ${describe(v[i])}, expected a token id in 0..2147483647`, where);
  return v as number[];
}

/** vLLM JSON Lines. */
export function importVllmJsonl(files: TextInput[], opts: ImportOptions = {}): ImportResult {
  let L = -1;
  let K = -1;
  let shapeWhere = '';
  let records = 0;
  let anyIds = false;
  const seqs: DenseSeq[] = [];
  for (const file of files) {
    for (const [line, lineNo] of lines(file.text)) {
      if (line.trim() === '') continue;
      const where = `${file.name}:${lineNo}`;
      const r = jsonRecord(line, where);
      records++;
      if (!Object.hasOwn(r, 'routed_experts')) throw new TraceError('missing field "routed_experts" ([tokens][layers][top_k] expert ids)', where);
      const re = r.routed_experts;
      if (!Array.isArray(re)) throw new TraceError(`field "routed_experts": expected [tokens][layers][top_k] nested lists, got ${describe(re)}`, where);
      const T = re.length;
      if (T > 0 && L < 0) {
        const first = re[0];
        if (!Array.isArray(first) || !Array.isArray(first[0]))
          throw new TraceError(`field "routed_experts": expected [tokens][layers][top_k] nested lists, token 0 is ${describe(first)}`, where);
        L = first.length;
        K = (first[0] as unknown[]).length;
        shapeWhere = where;
      }
      const experts = new Float64Array(T * L * K);
      for (let t = 0; t < T; t++) {
        const tok = re[t];
        if (!Array.isArray(tok) || tok.length !== L)
          throw new TraceError(
            `field "routed_experts" token ${t}: wrong shape, expected ${L} layers (shape set by ${shapeWhere}), got ${describe(tok)}`,
            where,
          );
        for (let l = 0; l < L; l++) {
          const ids = tok[l];
          if (!Array.isArray(ids) || ids.length !== K)
            throw new TraceError(
              `field "routed_experts" token ${t} layer ${l}: wrong shape, expected ${K} expert ids (top-k set by ${shapeWhere}), got ${describe(ids)}`,
              where,
            );
          for (let j = 0; j < K; j++) {
            const id = ids[j];
            if (typeof id !== 'number' || !Number.isInteger(id))
              throw new TraceError(`field "routed_experts" token ${t} layer ${l}: expected integer expert ids, got ${describe(id)}`, where);
            experts[(t * L + l) * K + j] = id;
          }
        }
      }
      let tokenIds: number[] | undefined;
      if (r.prompt_token_ids !== undefined || r.output_token_ids !== undefined) {
        const ids = [
          ...(r.prompt_token_ids === undefined || r.prompt_token_ids === null ? [] : intList(r.prompt_token_ids, 'prompt_token_ids', where)),
          ...(r.output_token_ids === undefined || r.output_token_ids === null ? [] : intList(r.output_token_ids, 'output_token_ids', where)),
        ];
        if (ids.length !== T && ids.length !== T + 1)
          throw new TraceError(`${ids.length} token ids (prompt_token_ids + output_token_ids) for ${T} routed tokens; expected ${T} or ${T + 1}`, where);
        tokenIds = ids;
        anyIds = true;
      }
      seqs.push({ where, dataset: opts.dataset ?? 'default', rows: T, experts, tokenIds });
    }
  }
  if (records === 0) throw new TraceError('empty input: no JSON records found', files.map((f) => f.name).join(', ') || '(no files)');
  if (L < 0) throw new TraceError('empty input: no request has any routed token', files.map((f) => f.name).join(', '));
  return buildDense(
    seqs,
    {
      importer: 'vllm',
      files: files.map((f) => f.name),
      moeLayerIds: Array.from({ length: L }, (_, i) => i),
      topK: K,
      hasWeights: false,
      hasTokenIds: anyIds,
      what: 'requests',
    },
    opts,
    records,
  );
}

// ------------------------------------------------------------------------------------------------ NumPy

interface NpyArray {
  shape: number[];
  values: ArrayLike<number>;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(b: Uint8Array): boolean {
  return b.length >= 6 && NPY_MAGIC.every((c, i) => b[i] === c);
}

/** Parses a .npy array of integers (little-endian or single-byte, C order). */
export function parseNpy(b: Uint8Array, where: string): NpyArray {
  if (!isNpy(b)) throw new TraceError('not a NumPy .npy file (magic \\x93NUMPY missing)', where);
  if (b.length < 10) throw new TraceError('truncated .npy header', where);
  const major = b[6];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + hlen > b.length) throw new TraceError(`truncated .npy header: says ${hlen} bytes, the file has ${b.length - start}`, where);
  const header = new TextDecoder().decode(b.subarray(start, start + hlen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) throw new TraceError(`unreadable .npy header ${JSON.stringify(header.slice(0, 80))}`, where);
  if (fortran) throw new TraceError('Fortran-order .npy arrays are not read; save with np.ascontiguousarray', where);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const n = shape.reduce((a, x) => a * x, 1);
  const body = b.subarray(start + hlen);
  const kinds: Record<string, [number, (o: number) => number]> = {
    '|i1': [1, (o) => dv.getInt8(o)],
    '|u1': [1, (o) => dv.getUint8(o)],
    '<i2': [2, (o) => dv.getInt16(o, true)],
    '<u2': [2, (o) => dv.getUint16(o, true)],
    '<i4': [4, (o) => dv.getInt32(o, true)],
    '<u4': [4, (o) => dv.getUint32(o, true)],
    '<i8': [8, (o) => Number(dv.getBigInt64(o, true))],
    '<u8': [8, (o) => Number(dv.getBigUint64(o, true))],
  };
  const kind = kinds[descr];
  if (!kind) throw new TraceError(`dtype ${descr}: expected little-endian integer expert ids (int8..int64)`, where);
  const [size, get] = kind;
  if (body.length < n * size)
    throw new TraceError(`truncated .npy data: shape (${shape.join(', ')}) needs ${n * size} bytes, the file has ${body.length}`, where);
  const values = new Float64Array(n);
  const base = start + hlen;
  for (let i = 0; i < n; i++) values[i] = get(base + i * size);
  return { shape, values };
}

/** vLLM routed experts saved with NumPy: .npy is one sequence, .npz one sequence per array (name order). */
export function importVllmNumpy(files: BinaryInput[], opts: ImportOptions = {}): ImportResult {
  let shapeWhere = '';
  let L = -1;
  let K = -1;
  const seqs: DenseSeq[] = [];
  const arrays: { where: string; a: NpyArray }[] = [];
  for (const f of files) {
    if (isNpy(f.bytes)) arrays.push({ where: f.name, a: parseNpy(f.bytes, f.name) });
    else {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(f.bytes);
      } catch (e) {
        throw new TraceError(`not a .npy file nor a readable .npz archive (${(e as Error).message})`, f.name);
      }
      const names = Object.keys(entries)
        .filter((n) => n.endsWith('.npy'))
        .sort(naturalCompare);
      if (names.length === 0) throw new TraceError('.npz archive holds no .npy arrays', f.name);
      for (const n of names) arrays.push({ where: `${f.name}:${n.slice(0, -4)}`, a: parseNpy(entries[n], `${f.name}:${n.slice(0, -4)}`) });
    }
  }
  for (const { where, a } of arrays) {
    if (a.shape.length !== 3) throw new TraceError(`wrong shape (${a.shape.join(', ')}): expected 3 dimensions [tokens, layers, top_k]`, where);
    const [T, l, k] = a.shape;
    if (L < 0) {
      [L, K, shapeWhere] = [l, k, where];
    } else if (l !== L || k !== K) throw new TraceError(`wrong shape (${a.shape.join(', ')}): expected [tokens, ${L}, ${K}] as ${shapeWhere}`, where);
    seqs.push({ where, dataset: opts.dataset ?? 'default', rows: T, experts: a.values });
  }
  if (L < 0) throw new TraceError('empty input: no arrays', files.map((f) => f.name).join(', ') || '(no files)');
  return buildDense(
    seqs,
    {
      importer: 'vllm',
      files: files.map((f) => f.name),
      moeLayerIds: Array.from({ length: L }, (_, i) => i),
      topK: K,
      hasWeights: false,
      hasTokenIds: false,
      what: 'arrays',
    },
    opts,
    arrays.length,
  );
}
