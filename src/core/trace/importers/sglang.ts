/**
 * SGLang routed experts: JSON Lines of /generate responses whose `meta_info.routed_experts` (or, OpenAI style,
 * `choices[i].sgl_ext.routed_experts`) is base64 of little-endian int32, flattened [tokens, layers, top_k].
 * The shape is not in the data: it comes from `layers` and `topK` (CLI --layers N --top-k K). -1 marks a dense
 * (non-MoE) layer: such a layer is -1 in every slot of every token and is left out of the trace.
 */
import { TraceError } from '../types';
import { lines, type ImportOptions, type ImportResult, type InputFile } from './common';
import { buildDense, describe, jsonRecord, type DenseSeq } from './dense';

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, padded) to bytes; throws naming `where` on anything else. */
export function decodeBase64(s: string, where: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  if (t.length % 4 !== 0 || !B64.test(t)) {
    const bad = t.search(/[^A-Za-z0-9+/=]/);
    throw new TraceError(
      `bad base64 in routed_experts: ${bad >= 0 ? `character ${JSON.stringify(t[bad])} at offset ${bad}` : `length ${t.length} is not a multiple of 4 or padding is misplaced`}`,
      where,
    );
  }
  const bin = atob(t);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The base64 payloads of one response line: meta_info's, or one per choice. */
function payloads(r: Record<string, unknown>, where: string): { where: string; b64: unknown }[] {
  const meta = r.meta_info as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object' && Object.hasOwn(meta, 'routed_experts')) return [{ where, b64: meta.routed_experts }];
  if (Array.isArray(r.choices)) {
    const out = r.choices.map((c, i) => {
      const ext = (c as Record<string, unknown> | null)?.sgl_ext as Record<string, unknown> | undefined;
      if (!ext || typeof ext !== 'object' || !Object.hasOwn(ext, 'routed_experts'))
        throw new TraceError(`choices[${i}]: missing sgl_ext.routed_experts`, where);
      return { where: `${where} choices[${i}]`, b64: ext.routed_experts };
    });
    if (out.length) return out;
  }
  throw new TraceError('missing routed experts: expected meta_info.routed_experts or choices[i].sgl_ext.routed_experts (base64 int32)', where);
}

/**
 * The flat layout's shape from a Hugging Face model config.json: layers = num_hidden_layers, top-k =
 * num_experts_per_tok (or moe_topk / top_k). Empty when the text is not such a config.
 */
export function sglangShapeFromConfig(text: string): { layers?: number; topK?: number } {
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    const cfg = (c.text_config && typeof c.text_config === 'object' ? c.text_config : c) as Record<string, unknown>;
    const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
    return { layers: int(cfg.num_hidden_layers), topK: int(cfg.num_experts_per_tok ?? cfg.moe_topk ?? cfg.top_k) };
  } catch {
    return {};
  }
}

export function importSglang(files: InputFile[], opts: ImportOptions = {}): ImportResult {
  const where0 = files.map((f) => f.name).join(', ') || '(no files)';
  const Lall = opts.layers;
  const K = opts.topK;
  if (Lall === undefined || K === undefined)
    throw new TraceError(
      'SGLang routed_experts are flat: give the shape with --layers N --top-k K (layers counts dense ones too), or open the model config.json with the logs',
      where0,
    );
  if (!Number.isInteger(Lall) || Lall < 1 || !Number.isInteger(K) || K < 1)
    throw new TraceError(`--layers and --top-k must be positive integers (got ${Lall}, ${K})`, where0);
  let records = 0;
  let moe: number[] | null = null;
  let moeWhere = '';
  const raw: { where: string; ids: Int32Array; rows: number }[] = [];
  for (const file of files) {
    for (const [line, lineNo] of lines(file.text)) {
      if (line.trim() === '') continue;
      const at = `${file.name}:${lineNo}`;
      const r = jsonRecord(line, at);
      records++;
      for (const p of payloads(r, at)) {
        if (typeof p.b64 !== 'string') throw new TraceError(`routed_experts: expected a base64 string of int32, got ${describe(p.b64)}`, p.where);
        const bytes = decodeBase64(p.b64, p.where);
        const per = Lall * K * 4;
        if (bytes.length % per !== 0)
          throw new TraceError(
            `wrong shape: ${bytes.length} bytes (${bytes.length / 4} int32) is not a whole number of tokens of ${Lall} layers x top-${K}; check --layers and --top-k`,
            p.where,
          );
        const ids = new Int32Array(bytes.length / 4);
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < ids.length; i++) ids[i] = dv.getInt32(i * 4, true);
        const rows = bytes.length / per;
        // Dense layers: -1 in every slot. A layer is dense or not for the whole trace.
        for (let t = 0; t < rows; t++) {
          const layers: number[] = [];
          for (let l = 0; l < Lall; l++) {
            let neg = 0;
            for (let j = 0; j < K; j++) if (ids[(t * Lall + l) * K + j] === -1) neg++;
            if (neg !== 0 && neg !== K) throw new TraceError(`token ${t} layer ${l}: -1 (dense layer) in only ${neg} of ${K} slots`, p.where);
            if (neg === 0) layers.push(l);
          }
          if (moe === null) {
            moe = layers;
            moeWhere = `${p.where} token ${t}`;
          } else if (layers.join() !== moe.join())
            throw new TraceError(
              `token ${t}: MoE layers ${layers.join(',')} differ from ${moe.join(',')} at ${moeWhere} (-1 marks a dense layer in every token)`,
              p.where,
            );
        }
        raw.push({ where: p.where, ids, rows });
      }
    }
  }
  if (records === 0) throw new TraceError('empty input: no JSON records found', where0);
  const moeIds = moe ?? [];
  const L = moeIds.length;
  const seqs: DenseSeq[] = raw.map(({ where, ids, rows }) => {
    const experts = new Int32Array(rows * L * K);
    for (let t = 0; t < rows; t++)
      moeIds.forEach((l, li) => {
        for (let j = 0; j < K; j++) experts[(t * L + li) * K + j] = ids[(t * Lall + l) * K + j];
      });
    return { where, dataset: opts.dataset ?? 'default', rows, experts };
  });
  return buildDense(
    seqs,
    { importer: 'sglang', files: files.map((f) => f.name), moeLayerIds: moeIds, topK: K, hasWeights: false, hasTokenIds: false, what: 'responses' },
    opts,
    records,
  );
}
