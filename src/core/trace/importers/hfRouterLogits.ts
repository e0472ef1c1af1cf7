/**
 * Hugging Face router logits in safetensors: `router_logits.<i>` for MoE layer i (the raw gate logits that
 * `output_router_logits=True` returns), shape [batch*seq, E] or [batch, seq, E], float32/float16/bfloat16;
 * optional `input_ids` and `attention_mask` ([batch, seq]; padding dropped); metadata `top_k` and
 * `norm_topk_prob`. Routing is recomputed: softmax over E, top-k by probability (lower id first on ties),
 * weights renormalised over the top-k when norm_topk_prob is true. One file per forward pass; each batch row
 * is a sequence. speclab_collect.save_router_logits writes this layout.
 */
import { TraceError } from '../types';
import type { ImportOptions, ImportResult } from './common';
import { buildDense, type DenseSeq } from './dense';
import { naturalCompare } from './hookCsv';
import type { BinaryInput } from './vllm';

interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

interface Safetensors {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  body: Uint8Array;
}

const MAX_HEADER = 100_000_000;

/** True when the bytes start like a safetensors file (u64 header length, then a JSON object). */
export function isSafetensors(b: Uint8Array): boolean {
  if (b.length < 9) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  return n >= 2 && n <= MAX_HEADER && b[8] === 0x7b; /* { */
}

export function parseSafetensors(b: Uint8Array, where: string): Safetensors {
  if (b.length < 8) throw new TraceError(`truncated safetensors header: ${b.length} bytes, the 8-byte header length is incomplete`, where);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const big = dv.getBigUint64(0, true);
  if (big > BigInt(MAX_HEADER)) throw new TraceError(`safetensors header length ${big} is implausible (more than ${MAX_HEADER} bytes)`, where);
  const n = Number(big);
  if (8 + n > b.length) throw new TraceError(`truncated safetensors header: it says ${n} bytes, the file has ${b.length - 8} after the length`, where);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, 8 + n)));
  } catch (e) {
    throw new TraceError(`safetensors header is not valid JSON (${(e as Error).message})`, where);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new TraceError('safetensors header is not a JSON object', where);
  const body = b.subarray(8 + n);
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(header as Record<string, unknown>)) {
    if (k === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const t = v as TensorInfo;
    const ok =
      t &&
      typeof t.dtype === 'string' &&
      Array.isArray(t.shape) &&
      t.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      Array.isArray(t.data_offsets) &&
      t.data_offsets.length === 2;
    if (!ok) throw new TraceError(`tensor "${k}": header entry lacks dtype, shape or data_offsets`, where);
    const [s, e] = t.data_offsets;
    const size = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 }[t.dtype];
    if (size === undefined)
      throw new TraceError(`tensor "${k}": dtype ${t.dtype} is not read (F32, F16, BF16 logits; I64, I32, U8, BOOL ids and masks)`, where);
    const count = t.shape.reduce((a, x) => a * x, 1);
    if (!(Number.isInteger(s) && Number.isInteger(e) && s >= 0 && e - s === count * size && e <= body.length))
      throw new TraceError(
        `tensor "${k}": data_offsets [${s}, ${e}] do not fit shape [${t.shape.join(', ')}] ${t.dtype} in a body of ${body.length} bytes (truncated file?)`,
        where,
      );
    tensors.set(k, t);
  }
  return { tensors, metadata, body };
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A tensor's values as numbers (floats widened to float64, integers exact up to 2^53). */
function values(st: Safetensors, name: string): Float64Array {
  const t = st.tensors.get(name)!;
  const [s] = t.data_offsets;
  const count = t.shape.reduce((a, x) => a * x, 1);
  const dv = new DataView(st.body.buffer, st.body.byteOffset + s, t.data_offsets[1] - s);
  const out = new Float64Array(count);
  const f32 = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < count; i++) {
    switch (t.dtype) {
      case 'F32':
        out[i] = dv.getFloat32(i * 4, true);
        break;
      case 'F16':
        out[i] = f16(dv.getUint16(i * 2, true));
        break;
      case 'BF16':
        f32.setUint32(0, dv.getUint16(i * 2, true) << 16);
        out[i] = f32.getFloat32(0);
        break;
      case 'I64':
        out[i] = Number(dv.getBigInt64(i * 8, true));
        break;
      case 'I32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'I16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'I8':
        out[i] = dv.getInt8(i);
        break;
      default:
        out[i] = dv.getUint8(i);
    }
  }
  return out;
}

function flag(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const l = String(v).toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  return undefined;
}

export function importHfRouterLogits(files: BinaryInput[], opts: ImportOptions = {}): ImportResult {
  const sorted = [...files].sort((a, b) => naturalCompare(a.name, b.name));
  const seqs: DenseSeq[] = [];
  let layerIds: number[] | null = null;
  let layersWhere = '';
  let K = -1;
  let E = -1;
  let anyIds = false;
  for (const f of sorted) {
    const st = parseSafetensors(f.bytes, f.name);
    const names = [...st.tensors.keys()].filter((k) => /^router_logits\.\d+$/.test(k));
    if (names.length === 0) throw new TraceError('no router_logits.<i> tensors (expected one per MoE layer)', f.name);
    const ids = names.map((k) => Number(k.slice('router_logits.'.length))).sort((a, b) => a - b);
    if (layerIds === null) [layerIds, layersWhere] = [ids, f.name];
    else if (ids.join() !== layerIds.join())
      throw new TraceError(`router_logits layers ${ids.join(',')} differ from ${layerIds.join(',')} in ${layersWhere}`, f.name);
    const k = Number(st.metadata.top_k ?? opts.topK);
    if (!Number.isInteger(k) || k < 1)
      throw new TraceError(`metadata top_k is ${JSON.stringify(st.metadata.top_k)}; store it in the file (or pass --top-k)`, f.name);
    if (K < 0) K = k;
    else if (k !== K) throw new TraceError(`top_k ${k} differs from ${K} of the other files`, f.name);
    const norm = flag(st.metadata.norm_topk_prob) ?? true;

    // Shape: [B*S, E] or [B, S, E]; every layer alike.
    const first = st.tensors.get(`router_logits.${ids[0]}`)!;
    const shape = first.shape;
    if (shape.length !== 2 && shape.length !== 3)
      throw new TraceError(`wrong shape: router_logits.${ids[0]} is [${shape.join(', ')}], expected [batch*seq, experts] or [batch, seq, experts]`, f.name);
    const e = shape[shape.length - 1];
    if (E < 0) E = e;
    else if (e !== E) throw new TraceError(`router_logits.${ids[0]}: ${e} experts, other files have ${E}`, f.name);
    if (K > e) throw new TraceError(`top_k ${K} is more than the ${e} experts of router_logits.${ids[0]}`, f.name);
    for (const i of ids) {
      const s = st.tensors.get(`router_logits.${i}`)!.shape;
      if (s.join() !== shape.join())
        throw new TraceError(`wrong shape: router_logits.${i} is [${s.join(', ')}], router_logits.${ids[0]} is [${shape.join(', ')}]`, f.name);
    }
    const rowsAll = shape.length === 3 ? shape[0] * shape[1] : shape[0];
    let B: number;
    let S: number;
    const idsT = st.tensors.get('input_ids');
    const maskT = st.tensors.get('attention_mask');
    if (shape.length === 3) [B, S] = [shape[0], shape[1]];
    else if (idsT && idsT.shape.length === 2) [B, S] = [idsT.shape[0], idsT.shape[1]];
    else if (maskT && maskT.shape.length === 2) [B, S] = [maskT.shape[0], maskT.shape[1]];
    else [B, S] = [1, rowsAll];
    if (B * S !== rowsAll) throw new TraceError(`wrong shape: router_logits rows ${rowsAll} are not batch ${B} x seq ${S} of input_ids/attention_mask`, f.name);
    for (const [nm, t] of [
      ['input_ids', idsT],
      ['attention_mask', maskT],
    ] as const)
      if (t && t.shape.reduce((a, x) => a * x, 1) !== B * S)
        throw new TraceError(`mismatched ${nm}: shape [${t.shape.join(', ')}] does not match router_logits [${B}, ${S}] (batch, seq)`, f.name);
    if (idsT && maskT && idsT.shape.join() !== maskT.shape.join())
      throw new TraceError(`mismatched attention_mask: shape [${maskT.shape.join(', ')}] differs from input_ids [${idsT.shape.join(', ')}]`, f.name);
    const tokenIds = idsT ? values(st, 'input_ids') : undefined;
    if (tokenIds) {
      anyIds = true;
      for (let i = 0; i < tokenIds.length; i++)
        if (!Number.isInteger(tokenIds[i]) || tokenIds[i] < 0 || tokenIds[i] > 0x7fffffff)
          throw new TraceError(`input_ids: token id ${tokenIds[i]} out of range 0..2147483647 at batch row ${Math.floor(i / S)} position ${i % S}`, f.name);
    }
    const mask = maskT ? values(st, 'attention_mask') : undefined;
    if (mask)
      for (let i = 0; i < mask.length; i++)
        if (mask[i] !== 0 && mask[i] !== 1) throw new TraceError(`attention_mask: value ${mask[i]} at ${i}, expected 0 or 1`, f.name);
    const logits = ids.map((i) => values(st, `router_logits.${i}`));
    const L = ids.length;
    const order = new Int32Array(e);
    const p = new Float64Array(e);
    for (let b = 0; b < B; b++) {
      const where = B > 1 ? `${f.name} batch row ${b}` : f.name;
      const keep: number[] = [];
      for (let s = 0; s < S; s++) if (!mask || mask[b * S + s] === 1) keep.push(b * S + s);
      const experts = new Int32Array(keep.length * L * K);
      const weights = new Float64Array(keep.length * L * K);
      keep.forEach((row, t) => {
        for (let l = 0; l < L; l++) {
          const x = logits[l];
          let max = -Infinity;
          for (let j = 0; j < e; j++) {
            const v = x[row * e + j];
            if (!Number.isFinite(v)) throw new TraceError(`router_logits.${ids[l]} row ${row} expert ${j}: logit ${v} is not finite`, f.name);
            if (v > max) max = v;
          }
          let z = 0;
          for (let j = 0; j < e; j++) z += p[j] = Math.exp(x[row * e + j] - max);
          for (let j = 0; j < e; j++) order[j] = j;
          // Partial selection of the K largest, lower id first on ties (stable).
          for (let a = 0; a < K; a++) {
            let best = a;
            for (let c = a + 1; c < e; c++) if (p[order[c]] > p[order[best]] || (p[order[c]] === p[order[best]] && order[c] < order[best])) best = c;
            [order[a], order[best]] = [order[best], order[a]];
          }
          let sum = 0;
          for (let a = 0; a < K; a++) sum += p[order[a]];
          for (let a = 0; a < K; a++) {
            experts[(t * L + l) * K + a] = order[a];
            weights[(t * L + l) * K + a] = norm ? p[order[a]] / sum : p[order[a]] / z;
          }
        }
      });
      const pos = keep.map((_, i) => i);
      seqs.push({
        where,
        dataset: opts.dataset ?? 'default',
        rows: keep.length,
        experts,
        weights,
        tokenIds: tokenIds ? keep.map((r) => tokenIds[r]) : undefined,
        pos,
      });
    }
  }
  if (layerIds === null) throw new TraceError('empty input: no safetensors files', '(no files)');
  return buildDense(
    seqs,
    { importer: 'hf-router-logits', files: sorted.map((f) => f.name), moeLayerIds: layerIds, topK: K, hasWeights: true, hasTokenIds: anyIds, what: 'files' },
    { ...opts, numExperts: opts.numExperts ?? E },
    sorted.length,
  );
}
