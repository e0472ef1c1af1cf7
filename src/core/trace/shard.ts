import {
  Field,
  FixedSizeList,
  Float32,
  Int16,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Type,
  Uint16,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { checkIpcStructure, type IpcLayout } from './ipc';
import { LIMITS } from './manifest';
import { FORMAT_NAME, FORMAT_VERSION, TraceError, type Manifest, type TraceChunk } from './types';

export const SCHEMA_METADATA_KEY = 'speclab.format';
/** The lookahead gate column (docs/trace-format.md): fixed_size_list<float32>[L·H·E]. */
export const LOOKAHEAD_COLUMN = 'lookahead_logits';

type TypedCtor<A> = { readonly BYTES_PER_ELEMENT: number; new (n: number): A };

/**
 * The flat values of a primitive column (or of a fixed-size list's child), across all record batches.
 * One batch: a zero-copy view. Several: one copy into a new array. A values buffer shorter than the rows it
 * must hold (a corrupted length) is an error, never a silently short array.
 */
function flatValues<A extends Int16Array | Int32Array | Uint16Array | Float32Array>(
  vec: Vector,
  ctor: TypedCtor<A>,
  width: number,
  name: string,
  where: string,
): A {
  const parts: A[] = [];
  let row = 0;
  for (const d of vec.data as Data<DataType>[]) {
    // A list column of width 1 (one layer, top-1) is still a list: its values are in the child.
    const isList = d.type.typeId === Type.FixedSizeList;
    const src = (isList ? d.children[0] : d) as Data<DataType> | undefined;
    const values = src?.values as A | undefined;
    // A list slice starting at d.offset begins d.offset * width elements into its child.
    const base = isList ? (src?.offset ?? 0) + d.offset * width : d.offset;
    const want = d.length * width;
    if (!values || !(values instanceof ctor) || base + want > values.length)
      throw new TraceError(
        `column "${name}": rows ${row}..${row + d.length - 1} need ${want} values but the buffer holds ${values ? Math.max(0, values.length - base) : 0} (truncated or corrupted)`,
        where,
      );
    parts.push(values.subarray(base, base + want) as A);
    row += d.length;
  }
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new ctor(n);
  let o = 0;
  for (const p of parts) {
    (out as unknown as { set(a: A, o: number): void }).set(p, o);
    o += p.length;
  }
  return out;
}

interface ColumnSpec {
  name: string;
  typeId: Type;
  bitWidth?: number;
  signed?: boolean;
  listWidth?: number;
  childTypeId?: Type;
  childBitWidth?: number;
  childSigned?: boolean;
  /** What the expected list width is made of, for the error on a wrong one (e.g. "numLayers 6 × numExperts 8"). */
  widthMeaning?: string;
  /** Why the column must be there, for the error when it is missing. */
  requiredBy?: string;
}

function describeType(t: DataType): string {
  try {
    return String(t);
  } catch {
    return `type id ${t.typeId}`;
  }
}

function column(table: Table, spec: ColumnSpec, where: string): Vector {
  const field = table.schema.fields.find((f) => f.name === spec.name);
  const vec = field && table.getChild(spec.name);
  if (!field || !vec) throw new TraceError(`missing column "${spec.name}"${spec.requiredBy ? ` (${spec.requiredBy})` : ''}`, where);
  const t = field.type as DataType & { bitWidth?: number; isSigned?: boolean; listSize?: number; children?: Field[] };
  const expected = spec.listWidth
    ? `fixed_size_list<${spec.childTypeId === Type.Float ? 'float32' : spec.childSigned ? `int${spec.childBitWidth}` : `uint${spec.childBitWidth}`}>[${spec.listWidth}]`
    : spec.typeId === Type.Utf8
      ? 'utf8'
      : `${spec.signed ? 'int' : 'uint'}${spec.bitWidth}`;
  const bad = () =>
    new TraceError(
      `column "${spec.name}" has type ${describeType(field.type)}, expected ${expected}${spec.widthMeaning && t.listSize !== spec.listWidth ? ` (${spec.widthMeaning})` : ''}`,
      where,
    );
  if (t.typeId !== spec.typeId) throw bad();
  if (spec.bitWidth !== undefined && (t.bitWidth !== spec.bitWidth || t.isSigned !== spec.signed)) throw bad();
  if (spec.listWidth !== undefined) {
    if (t.listSize !== spec.listWidth) throw bad();
    const ct = t.children?.[0]?.type as (DataType & { bitWidth?: number; isSigned?: boolean; precision?: number }) | undefined;
    if (!ct || ct.typeId !== spec.childTypeId) throw bad();
    if (spec.childTypeId === Type.Float && ct.precision !== 1) throw bad(); // 1 = single precision
    if (spec.childBitWidth !== undefined && (ct.bitWidth !== spec.childBitWidth || ct.isSigned !== spec.childSigned)) throw bad();
  }
  for (const d of vec.data) {
    if (d.nullCount > 0) throw new TraceError(`column "${spec.name}" has ${d.nullCount} nulls; the format allows none`, where);
    if (d.children[0] && d.children[0].nullCount > 0) throw new TraceError(`column "${spec.name}" has null list elements`, where);
  }
  return vec;
}

/** The utf8 column's strings, after checking its offsets lie within its data (corrupted offsets otherwise read garbage). */
function utf8Values(vec: Vector, where: string): string[] {
  let row = 0;
  for (const d of vec.data) {
    const offsets = d.valueOffsets as Int32Array | undefined;
    const data = d.values as Uint8Array | undefined;
    if (!offsets || !data || offsets.length < d.offset + d.length + 1)
      throw new TraceError(`column "token_text": rows ${row}..${row + d.length - 1} lack their string offsets (truncated or corrupted)`, where);
    for (let i = d.offset; i < d.offset + d.length; i++)
      if (offsets[i] < 0 || offsets[i + 1] < offsets[i] || offsets[i + 1] > data.length)
        throw new TraceError(
          `column "token_text": row ${row + i - d.offset} has string offsets ${offsets[i]}..${offsets[i + 1]} outside its ${data.length} bytes of text`,
          where,
        );
    row += d.length;
  }
  return vec.toArray() as string[];
}

/** Bytes a row of this shape takes at least in a shard's record batch bodies. */
export function minRowBytes(m: Manifest): number {
  const LK = m.numLayers * m.topK;
  const LE = m.numLayers * m.numExperts;
  return 4 + 4 + 2 + 2 * LK + (m.hasWeights ? 4 * LK : 0) + (m.hasLogits ? 4 * LE : 0) + 4 * LE * (m.lookaheadHorizon ?? 0) + (m.hasTokenIds ? 4 : 0);
}

/**
 * Parses a shard's bytes into an Arrow table after the structural checks of ipc.ts, requiring the
 * speclab.format schema metadata. Everything apache-arrow throws becomes a TraceError naming `where`.
 */
export function readShardTable(bytes: Uint8Array, where: string): { table: Table; layout: IpcLayout } {
  const layout = checkIpcStructure(bytes, where);
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new TraceError(`not a readable Arrow IPC shard (${(e as Error)?.message ?? String(e)})`, where);
  }
  if (table.numRows !== layout.rows)
    throw new TraceError(`the Arrow reader found ${table.numRows} rows where the record batches declare ${layout.rows}`, where);
  // A metadata entry may lack its value (null), so nothing but a string is trusted here.
  const format: unknown = table.schema.metadata.get(SCHEMA_METADATA_KEY);
  if (format !== '1')
    throw new TraceError(
      typeof format !== 'string'
        ? `schema metadata "${SCHEMA_METADATA_KEY}" is ${format === undefined ? 'missing' : 'without a value'}: not a SpecLab trace shard`
        : `schema metadata "${SCHEMA_METADATA_KEY}" is ${JSON.stringify(format.slice(0, 40))}, this reader reads "1"`,
      where,
    );
  return { table, layout };
}

/** Checks a declared row count against the manifest and against what the bodies can hold, before decoding. */
function checkRows(layout: IpcLayout, m: Manifest, where: string, expectedTokens: number | undefined): void {
  const n = layout.rows;
  if (expectedTokens !== undefined && n !== expectedTokens) throw new TraceError(`has ${n} rows, the manifest says ${expectedTokens} tokens`, where);
  const per = minRowBytes(m);
  if (n * per > layout.bodyBytes)
    throw new TraceError(
      `declares ${n} rows of at least ${per} bytes each (${m.numLayers} layers, top-${m.topK}), but its record batches hold only ${layout.bodyBytes} bytes`,
      where,
    );
}

/** The lookahead_logits column the manifest's lookaheadHorizon H asks for: fixed_size_list<float32>[L·H·E]. */
function lookaheadColumn(table: Table, m: Manifest, where: string): Vector {
  const H = m.lookaheadHorizon!;
  return column(
    table,
    {
      name: LOOKAHEAD_COLUMN,
      typeId: Type.FixedSizeList,
      listWidth: m.numLayers * H * m.numExperts,
      childTypeId: Type.Float,
      widthMeaning: `numLayers ${m.numLayers} × lookaheadHorizon ${H} × numExperts ${m.numExperts}`,
      requiredBy: `the manifest's lookaheadHorizon ${H} says the shards carry it`,
    },
    where,
  );
}

/** The typed columns of a parsed shard, checked against the manifest's shape. */
function chunkFromTable(table: Table, m: Manifest, where: string): TraceChunk {
  const n = table.numRows;
  const L = m.numLayers;
  const K = m.topK;
  const E = m.numExperts;
  const prim = (name: string, typeId: Type, bitWidth: number, signed: boolean): Vector => column(table, { name, typeId, bitWidth, signed }, where);
  const list = (name: string, width: number, childTypeId: Type, childBitWidth?: number): Vector =>
    column(table, { name, typeId: Type.FixedSizeList, listWidth: width, childTypeId, childBitWidth, childSigned: childBitWidth ? true : undefined }, where);
  const seq = flatValues(prim('seq', Type.Int, 32, true), Int32Array, 1, 'seq', where);
  const pos = flatValues(prim('pos', Type.Int, 32, true), Int32Array, 1, 'pos', where);
  const dataset = flatValues(prim('dataset', Type.Int, 16, false), Uint16Array, 1, 'dataset', where);
  const experts = flatValues(list('experts', L * K, Type.Int, 16), Int16Array, L * K, 'experts', where);
  const chunk: TraceChunk = { tokens: n, seq, pos, dataset, experts };
  if (m.hasWeights) chunk.weights = flatValues(list('weights', L * K, Type.Float), Float32Array, L * K, 'weights', where);
  if (m.hasLogits) chunk.logits = flatValues(list('logits', L * E, Type.Float), Float32Array, L * E, 'logits', where);
  if (m.hasTokenIds) chunk.tokenId = flatValues(prim('token_id', Type.Int, 32, true), Int32Array, 1, 'token_id', where);
  if (m.lookaheadHorizon) chunk.lookahead = flatValues(lookaheadColumn(table, m, where), Float32Array, L * m.lookaheadHorizon * E, LOOKAHEAD_COLUMN, where);
  if (m.hasTokenText) chunk.tokenText = utf8Values(column(table, { name: 'token_text', typeId: Type.Utf8 }, where), where);
  return chunk;
}

/** Decodes and validates one shard against its manifest. `where` names the file in errors. */
export function decodeShard(bytes: Uint8Array, m: Manifest, where: string, expectedTokens?: number): TraceChunk {
  const { table, layout } = readShardTable(bytes, where);
  // The widest optional column's schema first: a missing or mis-sized one is named as such, not as short bodies.
  if (m.lookaheadHorizon) lookaheadColumn(table, m, where);
  checkRows(layout, m, where, expectedTokens);
  const chunk = chunkFromTable(table, m, where);
  validateChunk(chunk, m, where);
  return chunk;
}

/** Checks value ranges that the Arrow types alone do not guarantee. */
export function validateChunk(c: TraceChunk, m: Manifest, where: string): void {
  const L = m.numLayers;
  const K = m.topK;
  const E = m.numExperts;
  const nd = m.datasets.length;
  const n = c.tokens;
  const sizes: [string, ArrayLike<unknown> | undefined, number][] = [
    ['seq', c.seq, n],
    ['pos', c.pos, n],
    ['dataset', c.dataset, n],
    ['experts', c.experts, n * L * K],
    ['weights', c.weights, n * L * K],
    ['logits', c.logits, n * L * E],
    [LOOKAHEAD_COLUMN, c.lookahead, n * L * E * (m.lookaheadHorizon ?? 0)],
    ['token_id', c.tokenId, n],
    ['token_text', c.tokenText, n],
  ];
  for (const [name, a, want] of sizes)
    if (a && a.length !== want) throw new TraceError(`column "${name}" has ${a.length} values, expected ${want} for ${n} rows`, where);
  for (let t = 0; t < n; t++) {
    if (c.dataset[t] >= nd) throw new TraceError(`row ${t}: dataset index ${c.dataset[t]} out of range (manifest lists ${nd})`, where);
    if (c.pos[t] < 0) throw new TraceError(`row ${t}: negative position ${c.pos[t]}`, where);
    if (t > 0 && c.seq[t] === c.seq[t - 1] && c.pos[t] <= c.pos[t - 1])
      throw new TraceError(`row ${t}: position ${c.pos[t]} does not follow ${c.pos[t - 1]} in sequence ${c.seq[t]}`, where);
  }
  const ex = c.experts;
  // Distinctness: pairwise for small top-k, a stamp per expert id for large top-k (keeps it O(K) per layer).
  const stamp = K > 8 ? new Int32Array(E) : null;
  for (let i = 0, row = 0; row < n * L; row++, i += K) {
    for (let j = 0; j < K; j++) {
      const e = ex[i + j];
      if (e < 0 || e >= E) {
        const t = Math.floor(row / L);
        throw new TraceError(`row ${t}, layer ${row % L}: expert id ${e} out of range 0..${E - 1}`, where);
      }
      let dup = false;
      if (stamp) {
        dup = stamp[e] === row + 1;
        stamp[e] = row + 1;
      } else for (let q = 0; q < j; q++) if (ex[i + q] === e) dup = true;
      if (dup) throw new TraceError(`row ${Math.floor(row / L)}, layer ${row % L}: expert ${e} appears twice in the top-${K}`, where);
    }
  }
  if (c.weights)
    for (let i = 0; i < c.weights.length; i++)
      if (!Number.isFinite(c.weights[i])) throw new TraceError(`row ${Math.floor(i / (L * K))}: non-finite routing weight`, where);
  if (c.lookahead) checkLookahead(c.lookahead, n, L, m.lookaheadHorizon ?? 0, E, where);
}

/**
 * Lookahead logits of a layer l+h beyond the last MoE layer must be NaN (there is no such router); elsewhere a
 * (token, layer, step) holds E finite values, or E NaN where layer l+h belongs to another stack.
 */
function checkLookahead(a: Float32Array, n: number, L: number, H: number, E: number, where: string): void {
  for (let t = 0; t < n; t++)
    for (let l = 0; l < L; l++)
      for (let h = 1; h <= H; h++) {
        const o = ((t * L + l) * H + h - 1) * E;
        const missing = l + h >= L || Number.isNaN(a[o]);
        for (let e = 0; e < E; e++) {
          const v = a[o + e];
          if (missing ? !Number.isNaN(v) : !Number.isFinite(v))
            throw new TraceError(
              `column "${LOOKAHEAD_COLUMN}": row ${t}, layer ${l}, step ${h}, expert ${e} is ${v}; ${
                l + h >= L
                  ? `layer ${l + h} does not exist (${L} MoE layers), so every value there must be NaN`
                  : 'a step holds E finite values, or E NaN where layer l+h is missing'
              }`,
              where,
            );
        }
      }
}

/** Shape overrides for a shard read without its manifest. */
export interface ShapeHints {
  numLayers?: number;
  topK?: number;
  numExperts?: number;
}

export interface InspectedShard {
  /** A manifest synthesised from the shard's schema and contents (shards: []; datasets named by index). */
  manifest: Manifest;
  chunk: TraceChunk;
  /** How each of L, K and E was obtained, for people. */
  inferred: { numLayers: string; topK: string; numExperts: string };
}

function listWidth(table: Table, name: string): number | undefined {
  const f = table.schema.fields.find((x) => x.name === name);
  const t = f?.type as { typeId?: Type; listSize?: number } | undefined;
  return t && t.typeId === Type.FixedSizeList ? t.listSize : undefined;
}

/** True when every group of `k` consecutive ids in `ids` holds distinct values (ids are checked to be ≥ 0 first). */
function groupsDistinct(ids: Int16Array, k: number, stamp: Int32Array): boolean {
  stamp.fill(0);
  for (let g = 0, i = 0; i < ids.length; g++) {
    for (let j = 0; j < k; j++, i++) {
      const e = ids[i];
      if (stamp[e] === g + 1) return false;
      stamp[e] = g + 1;
    }
  }
  return true;
}

/**
 * Decodes a lone shard (no manifest): the shape comes from `hints`, else from the schema and contents.
 * The experts width is L·K and the logits width L·E; K is the largest divisor of the width whose groups of
 * ids are distinct in every row (expert ids repeat across layers, never within one), E is the logits
 * width / L, else the largest id + 1. All checks of decodeShard then apply.
 */
export function inspectShard(bytes: Uint8Array, where: string, hints: ShapeHints = {}): InspectedShard {
  const { table, layout } = readShardTable(bytes, where);
  const W = listWidth(table, 'experts');
  if (W === undefined) {
    if (!table.schema.fields.some((f) => f.name === 'experts')) throw new TraceError('missing column "experts"', where);
    throw new TraceError(
      `column "experts" has type ${describeType(table.schema.fields.find((f) => f.name === 'experts')!.type)}, expected fixed_size_list<int16>[L·K]`,
      where,
    );
  }
  const WE = listWidth(table, 'logits');
  const has = (name: string) => table.schema.fields.some((f) => f.name === name);
  const n = layout.rows;
  // Bound the rows by the bytes before reading any column (seq, pos, dataset and the experts at least).
  if (n * (10 + 2 * W) > layout.bodyBytes)
    throw new TraceError(`declares ${n} rows of ${W} expert ids, but its record batches hold only ${layout.bodyBytes} bytes`, where);
  const ids = flatValues(
    column(table, { name: 'experts', typeId: Type.FixedSizeList, listWidth: W, childTypeId: Type.Int, childBitWidth: 16, childSigned: true }, where),
    Int16Array,
    W,
    'experts',
    where,
  );
  let maxId = -1;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0) throw new TraceError(`row ${Math.floor(i / W)}: negative expert id ${ids[i]}`, where);
    if (ids[i] > maxId) maxId = ids[i];
  }

  const inferred = { numLayers: 'given', topK: 'given', numExperts: 'given' };
  const fits = (k: number) => {
    const l = W / k;
    return (
      Number.isInteger(l) &&
      k <= LIMITS.maxTopK &&
      l <= LIMITS.maxLayers &&
      (hints.numLayers === undefined || hints.numLayers === l) &&
      (WE === undefined || WE % l === 0)
    );
  };
  let K = hints.topK ?? (hints.numLayers !== undefined ? W / hints.numLayers : undefined);
  if (K !== undefined) {
    if (!fits(K))
      throw new TraceError(
        `the experts width ${W} does not fit the given shape (layers ${hints.numLayers ?? '?'}, top-k ${hints.topK ?? '?'}${WE !== undefined ? `, logits width ${WE}` : ''})`,
        where,
      );
    if (hints.topK === undefined) inferred.topK = `experts width ${W} / ${W / K} layers`;
    if (hints.numLayers === undefined) inferred.numLayers = `experts width ${W} / top-${K}`;
  } else {
    const stamp = new Int32Array(Math.max(maxId + 1, 1));
    for (let k = Math.min(W, LIMITS.maxTopK); k >= 1; k--)
      if (fits(k) && groupsDistinct(ids, k, stamp)) {
        K = k;
        break;
      }
    if (K === undefined)
      throw new TraceError(
        `no layer count L ≤ ${LIMITS.maxLayers} divides the experts width ${W}${WE !== undefined ? ` and the logits width ${WE}` : ''}`,
        where,
      );
    inferred.numLayers = `experts width ${W} / top-${K}`;
    inferred.topK = `largest top-k whose ids are distinct within every layer of every row`;
  }
  const L = W / K;
  let E = hints.numExperts;
  if (E === undefined) {
    if (WE !== undefined) {
      E = WE / L;
      inferred.numExperts = `logits width ${WE} / ${L} layers`;
    } else {
      E = Math.max(maxId + 1, K, 2);
      inferred.numExperts = `largest expert id ${maxId} + 1`;
    }
  }
  if (!Number.isInteger(E) || E < 2 || E > LIMITS.maxExperts || E < K)
    throw new TraceError(`expert count ${E} is outside 2..${LIMITS.maxExperts} or below top-${K}`, where);

  const WA = listWidth(table, LOOKAHEAD_COLUMN);
  let lookaheadHorizon: number | undefined;
  if (WA !== undefined) {
    lookaheadHorizon = WA / (L * E);
    if (!Number.isInteger(lookaheadHorizon) || lookaheadHorizon < 1)
      throw new TraceError(`column "${LOOKAHEAD_COLUMN}" has width ${WA}, not a multiple of numLayers ${L} × numExperts ${E} (expected L·H·E)`, where);
  }
  let datasets = 1;
  const dsCol = has('dataset') ? column(table, { name: 'dataset', typeId: Type.Int, bitWidth: 16, signed: false }, where) : undefined;
  if (dsCol) for (const d of flatValues(dsCol, Uint16Array, 1, 'dataset', where)) if (d + 1 > datasets) datasets = d + 1;
  if (datasets > LIMITS.maxDatasets) throw new TraceError(`dataset index ${datasets - 1} exceeds the format's ${LIMITS.maxDatasets} datasets`, where);
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    model: { name: 'unknown' },
    engine: 'unknown',
    quantization: 'unknown',
    numLayers: L,
    numExperts: E,
    topK: K,
    moeLayerIds: Array.from({ length: L }, (_, i) => i),
    datasets: Array.from({ length: datasets }, (_, i) => `dataset-${i}`),
    hasWeights: has('weights'),
    hasLogits: WE !== undefined || has('logits'),
    hasTokenIds: has('token_id'),
    hasTokenText: has('token_text'),
    ...(lookaheadHorizon !== undefined && { lookaheadHorizon }),
    droppedTokens: 0,
    shards: [],
  };
  checkRows(layout, manifest, where, undefined);
  const chunk = chunkFromTable(table, manifest, where);
  validateChunk(chunk, manifest, where);
  return { manifest, chunk, inferred };
}

function fixedList(values: Int16Array | Float32Array, width: number, child: Int16 | Float32, n: number): Data {
  const childData = makeData({ type: child, length: values.length, nullCount: 0, data: values } as never);
  return makeData({ type: new FixedSizeList(width, new Field('item', child, false)), length: n, nullCount: 0, child: childData } as never);
}

/** Encodes a chunk as an Arrow IPC file (the shard format of docs/trace-format.md). */
export function encodeShard(c: TraceChunk, m: Manifest): Uint8Array {
  const L = m.numLayers;
  const K = m.topK;
  const E = m.numExperts;
  const n = c.tokens;
  const cols: [Field, Data][] = [
    [new Field('seq', new Int32(), false), makeData({ type: new Int32(), length: n, nullCount: 0, data: c.seq })],
    [new Field('pos', new Int32(), false), makeData({ type: new Int32(), length: n, nullCount: 0, data: c.pos })],
    [new Field('dataset', new Uint16(), false), makeData({ type: new Uint16(), length: n, nullCount: 0, data: c.dataset })],
  ];
  if (m.hasTokenIds) {
    if (!c.tokenId) throw new Error('manifest has token ids but the chunk has none');
    cols.push([new Field('token_id', new Int32(), false), makeData({ type: new Int32(), length: n, nullCount: 0, data: c.tokenId })]);
  }
  if (m.hasTokenText) {
    if (!c.tokenText) throw new Error('manifest has token text but the chunk has none');
    cols.push([new Field('token_text', new Utf8(), false), vectorFromArray(c.tokenText, new Utf8()).data[0]]);
  }
  const listField = (name: string, width: number, child: Int16 | Float32) => new Field(name, new FixedSizeList(width, new Field('item', child, false)), false);
  cols.push([listField('experts', L * K, new Int16()), fixedList(c.experts, L * K, new Int16(), n)]);
  if (m.hasWeights) {
    if (!c.weights) throw new Error('manifest has weights but the chunk has none');
    cols.push([listField('weights', L * K, new Float32()), fixedList(c.weights, L * K, new Float32(), n)]);
  }
  if (m.hasLogits) {
    if (!c.logits) throw new Error('manifest has logits but the chunk has none');
    cols.push([listField('logits', L * E, new Float32()), fixedList(c.logits, L * E, new Float32(), n)]);
  }
  if (m.lookaheadHorizon) {
    if (!c.lookahead) throw new Error('manifest has a lookahead horizon but the chunk has no lookahead logits');
    const W = L * m.lookaheadHorizon * E;
    cols.push([listField(LOOKAHEAD_COLUMN, W, new Float32()), fixedList(c.lookahead, W, new Float32(), n)]);
  }
  const fields = cols.map(([f]) => f);
  const schema = new Schema(fields, new Map([[SCHEMA_METADATA_KEY, '1']]));
  const struct = makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols.map(([, d]) => d) });
  const table = new Table(schema, [new RecordBatch(schema, struct)]);
  return tableToIPC(table, 'file');
}
