/**
 * FLAME-MoE-Traces (CMU-FLAME): Parquet files `samples/*.parquet` (column token_id, one row per token) and
 * `actives/<iter>/layer_NN.parquet` (scores list<float16>[k], indices list<int16>[k]; row i aligns with row i
 * of the samples files concatenated in name order). Each samples file is one sequence; each iteration folder
 * is one dataset (named after it) holding the same tokens routed by that checkpoint; NN is the model layer id.
 * Read with hyparquet (apache-arrow JS reads no Parquet).
 */
import { parquetReadObjects } from 'hyparquet';
import { TraceError } from '../types';
import { MAX_EXPERT_ID, orderedLayerIds, type ImportOptions, type ImportResult } from './common';
import { buildDense, type DenseSeq } from './dense';
import { naturalCompare } from './hookCsv';
import type { BinaryInput } from './vllm';

export function isParquet(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x41 && b[2] === 0x52 && b[3] === 0x31; // PAR1
}

const SAMPLES = /(?:^|[\\/])samples[\\/][^\\/]+\.parquet$/i;
const ACTIVES = /(?:^|[\\/])actives[\\/]([^\\/]+)[\\/]layer_(\d+)\.parquet$/i;

/** What a path is in the FLAME-MoE layout: a samples file, an actives file, or neither. */
export function flameRole(name: string): 'samples' | 'actives' | null {
  return SAMPLES.test(name) ? 'samples' : ACTIVES.test(name) ? 'actives' : null;
}

async function readColumns(f: BinaryInput, columns: string[]): Promise<Record<string, unknown>[]> {
  if (!isParquet(f.bytes)) throw new TraceError('not a Parquet file (magic PAR1 missing)', f.name);
  const ab = f.bytes.buffer.slice(f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.byteLength) as ArrayBuffer;
  try {
    return (await parquetReadObjects({ file: ab, columns })) as Record<string, unknown>[];
  } catch (e) {
    throw new TraceError(`unreadable Parquet (${(e as Error).message})`, f.name);
  }
}

export async function importFlameMoe(files: BinaryInput[], opts: ImportOptions = {}): Promise<ImportResult> {
  const samples = files.filter((f) => flameRole(f.name) === 'samples').sort((a, b) => naturalCompare(a.name, b.name));
  const actives = files.filter((f) => flameRole(f.name) === 'actives');
  const others = files.filter((f) => flameRole(f.name) === null);
  const where0 = files.map((f) => f.name).join(', ') || '(no files)';
  if (others.length) throw new TraceError('not part of the FLAME-MoE layout (samples/*.parquet, actives/<iter>/layer_NN.parquet)', others[0].name);
  if (!samples.length) throw new TraceError('no samples/*.parquet (token ids); open the model folder holding samples/ and actives/', where0);
  if (!actives.length) throw new TraceError('no actives/<iter>/layer_NN.parquet (routing); open the model folder holding samples/ and actives/', where0);

  // Sequence boundaries from the samples files.
  const bounds: { name: string; start: number; rows: number; ids: number[] }[] = [];
  let total = 0;
  for (const f of samples) {
    const rows = await readColumns(f, ['token_id']);
    const ids = rows.map((r, i) => {
      const v = Number(r.token_id);
      if (!Number.isInteger(v) || v < -1 || v > 0x7fffffff) throw new TraceError(`row ${i}: token_id ${String(r.token_id)} is not a token id`, f.name);
      return v;
    });
    bounds.push({ name: f.name, start: total, rows: ids.length, ids });
    total += ids.length;
  }

  // Iterations and their layers.
  const iters = new Map<string, Map<number, BinaryInput>>();
  for (const f of actives) {
    const [, iter, nn] = ACTIVES.exec(f.name)!;
    const m = iters.get(iter) ?? new Map<number, BinaryInput>();
    iters.set(iter, m);
    m.set(Number(nn), f);
  }
  const iterNames = [...iters.keys()].sort(naturalCompare);
  const layerIds = orderedLayerIds(new Set(iters.get(iterNames[0])!.keys()), opts.allowLayerGaps, `actives/${iterNames[0]}`);
  const L = layerIds.length;
  let K = -1;
  let kWhere = '';
  const seqs: DenseSeq[] = [];
  for (const iter of iterNames) {
    const layers = iters.get(iter)!;
    if ([...layers.keys()].sort((a, b) => a - b).join() !== layerIds.join())
      throw new TraceError(
        `layers ${[...layers.keys()].sort((a, b) => a - b).join(',')} differ from ${layerIds.join(',')} of actives/${iterNames[0]}`,
        `actives/${iter}`,
      );
    let experts: Int32Array | null = null;
    let weights: Float64Array | null = null;
    for (let li = 0; li < L; li++) {
      const f = layers.get(layerIds[li])!;
      const rows = await readColumns(f, ['indices', 'scores']);
      if (rows.length !== total) throw new TraceError(`${rows.length} rows, the samples files have ${total} tokens (row i must align with token i)`, f.name);
      for (let t = 0; t < rows.length; t++) {
        const idx = rows[t].indices as ArrayLike<number> | null;
        const sc = rows[t].scores as ArrayLike<number> | null;
        if (!idx || typeof idx.length !== 'number') throw new TraceError(`row ${t}: indices is not a list`, f.name);
        if (K < 0) {
          K = idx.length;
          kWhere = `${f.name} row ${t}`;
          experts = new Int32Array(total * L * K);
          weights = new Float64Array(total * L * K);
        }
        if (idx.length !== K) throw new TraceError(`row ${t}: wrong shape, ${idx.length} indices, expected ${K} (top-k set by ${kWhere})`, f.name);
        if (!sc || sc.length !== K) throw new TraceError(`row ${t}: wrong shape, scores has ${sc?.length ?? 'no'} entries, expected ${K}`, f.name);
        for (let j = 0; j < K; j++) {
          const id = Number(idx[j]);
          if (!Number.isInteger(id)) throw new TraceError(`row ${t}: index ${String(idx[j])} is not an integer expert id`, f.name);
          if (id < 0 || id >= (opts.numExperts ?? MAX_EXPERT_ID + 1))
            throw new TraceError(`row ${t}: expert id ${id} out of range, expected 0..${(opts.numExperts ?? MAX_EXPERT_ID + 1) - 1}`, f.name);
          experts![(t * L + li) * K + j] = id;
          weights![(t * L + li) * K + j] = Number(sc[j]);
        }
      }
    }
    for (const b of bounds) {
      const from = b.start * L * K;
      const to = (b.start + b.rows) * L * K;
      seqs.push({
        where: `actives/${iter} tokens of ${b.name}`,
        dataset: iter,
        rows: b.rows,
        experts: experts!.subarray(from, to),
        weights: weights!.subarray(from, to),
        tokenIds: b.ids,
      });
    }
  }
  return buildDense(
    seqs,
    {
      importer: 'flame-moe',
      files: [...samples, ...actives].map((f) => f.name),
      moeLayerIds: layerIds,
      topK: K,
      hasWeights: true,
      hasTokenIds: bounds.some((b) => b.ids.some((v) => v >= 0)),
      what: 'samples files',
    },
    opts,
    total * L * iterNames.length,
  );
}
