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
import { TraceError, type Manifest, type TraceChunk } from './types';

export const SCHEMA_METADATA_KEY = 'speclab.format';

const ARROW_FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

/** Rejects bytes that cannot be an Arrow IPC file or stream before handing them to the Arrow reader. */
function checkFraming(bytes: Uint8Array, where: string): void {
  if (bytes.length < 16) throw new TraceError(`only ${bytes.length} bytes: too short to be an Arrow IPC shard (truncated?)`, where);
  const isFile = ARROW_FILE_MAGIC.every((b, i) => bytes[i] === b);
  if (isFile) {
    const end = bytes.length - 6;
    if (!ARROW_FILE_MAGIC.every((b, i) => bytes[end + i] === b))
      throw new TraceError('Arrow IPC file does not end with the ARROW1 footer magic (truncated?)', where);
    return;
  }
  const continuation = bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
  if (!continuation) throw new TraceError('not an Arrow IPC file or stream (no ARROW1 magic, no stream header)', where);
}

type TypedCtor<A> = { readonly BYTES_PER_ELEMENT: number; new (n: number): A };

/**
 * The flat values of a primitive column (or of a fixed-size list's child), across all record batches.
 * One batch: a zero-copy view. Several: one copy into a new array.
 */
function flatValues<A extends Int16Array | Int32Array | Uint16Array | Float32Array>(
  vec: Vector,
  ctor: TypedCtor<A>,
  width: number,
): A {
  const parts: A[] = [];
  for (const d of vec.data as Data<DataType>[]) {
    if (width === 1) {
      parts.push((d.values as A).subarray(d.offset, d.offset + d.length) as A);
    } else {
      const child = d.children[0];
      // A list slice starting at d.offset begins d.offset * width elements into its child.
      const base = child.offset + d.offset * width;
      parts.push((child.values as A).subarray(base, base + d.length * width) as A);
    }
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
}

function describeType(t: DataType): string {
  return String(t);
}

function column(table: Table, spec: ColumnSpec, where: string): Vector {
  const field = table.schema.fields.find((f) => f.name === spec.name);
  const vec = table.getChild(spec.name);
  if (!field || !vec) throw new TraceError(`missing column "${spec.name}"`, where);
  const t = field.type as DataType & { bitWidth?: number; isSigned?: boolean; listSize?: number; children?: Field[] };
  const expected = spec.listWidth
    ? `fixed_size_list<${spec.childTypeId === Type.Float ? 'float32' : spec.childSigned ? `int${spec.childBitWidth}` : `uint${spec.childBitWidth}`}>[${spec.listWidth}]`
    : spec.typeId === Type.Utf8
      ? 'utf8'
      : `${spec.signed ? 'int' : 'uint'}${spec.bitWidth}`;
  const bad = () => new TraceError(`column "${spec.name}" has type ${describeType(field.type)}, expected ${expected}`, where);
  if (t.typeId !== spec.typeId) throw bad();
  if (spec.bitWidth !== undefined && (t.bitWidth !== spec.bitWidth || t.isSigned !== spec.signed)) throw bad();
  if (spec.listWidth !== undefined) {
    if (t.listSize !== spec.listWidth) throw bad();
    const ct = t.children![0].type as DataType & { bitWidth?: number; isSigned?: boolean; precision?: number };
    if (ct.typeId !== spec.childTypeId) throw bad();
    if (spec.childTypeId === Type.Float && ct.precision !== 1) throw bad(); // 1 = single precision
    if (spec.childBitWidth !== undefined && (ct.bitWidth !== spec.childBitWidth || ct.isSigned !== spec.childSigned)) throw bad();
  }
  if (vec.nullCount > 0) throw new TraceError(`column "${spec.name}" has ${vec.nullCount} nulls; the format allows none`, where);
  for (const d of vec.data) if (d.children[0] && d.children[0].nullCount > 0) throw new TraceError(`column "${spec.name}" has null list elements`, where);
  return vec;
}

/** Decodes and validates one shard against its manifest. `where` names the file in errors. */
export function decodeShard(bytes: Uint8Array, m: Manifest, where: string, expectedTokens?: number): TraceChunk {
  checkFraming(bytes, where);
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new TraceError(`not a readable Arrow IPC shard (${(e as Error).message})`, where);
  }
  const n = table.numRows;
  if (expectedTokens !== undefined && n !== expectedTokens)
    throw new TraceError(`has ${n} rows, the manifest says ${expectedTokens} tokens`, where);
  const L = m.numLayers;
  const K = m.topK;
  const E = m.numExperts;
  const seq = flatValues(column(table, { name: 'seq', typeId: Type.Int, bitWidth: 32, signed: true }, where), Int32Array, 1);
  const pos = flatValues(column(table, { name: 'pos', typeId: Type.Int, bitWidth: 32, signed: true }, where), Int32Array, 1);
  const dataset = flatValues(column(table, { name: 'dataset', typeId: Type.Int, bitWidth: 16, signed: false }, where), Uint16Array, 1);
  const list = (name: string, width: number, childTypeId: Type, childBitWidth?: number): ColumnSpec => ({
    name,
    typeId: Type.FixedSizeList,
    listWidth: width,
    childTypeId,
    childBitWidth,
    childSigned: childBitWidth ? true : undefined,
  });
  const experts = flatValues(column(table, list('experts', L * K, Type.Int, 16), where), Int16Array, L * K);
  const chunk: TraceChunk = { tokens: n, seq, pos, dataset, experts };
  if (m.hasWeights) chunk.weights = flatValues(column(table, list('weights', L * K, Type.Float), where), Float32Array, L * K);
  if (m.hasLogits) chunk.logits = flatValues(column(table, list('logits', L * E, Type.Float), where), Float32Array, L * E);
  if (m.hasTokenIds) chunk.tokenId = flatValues(column(table, { name: 'token_id', typeId: Type.Int, bitWidth: 32, signed: true }, where), Int32Array, 1);
  if (m.hasTokenText) {
    const v = column(table, { name: 'token_text', typeId: Type.Utf8 }, where);
    chunk.tokenText = v.toArray() as string[];
  }
  validateChunk(chunk, m, where);
  return chunk;
}

/** Checks value ranges that the Arrow types alone do not guarantee. */
export function validateChunk(c: TraceChunk, m: Manifest, where: string): void {
  const L = m.numLayers;
  const K = m.topK;
  const E = m.numExperts;
  const nd = m.datasets.length;
  for (let t = 0; t < c.tokens; t++) {
    if (c.dataset[t] >= nd) throw new TraceError(`row ${t}: dataset index ${c.dataset[t]} out of range (manifest lists ${nd})`, where);
    if (c.pos[t] < 0) throw new TraceError(`row ${t}: negative position ${c.pos[t]}`, where);
    if (t > 0 && c.seq[t] === c.seq[t - 1] && c.pos[t] <= c.pos[t - 1])
      throw new TraceError(`row ${t}: position ${c.pos[t]} does not follow ${c.pos[t - 1]} in sequence ${c.seq[t]}`, where);
  }
  const ex = c.experts;
  for (let i = 0, row = 0; row < c.tokens * L; row++, i += K) {
    for (let j = 0; j < K; j++) {
      const e = ex[i + j];
      if (e < 0 || e >= E) {
        const t = Math.floor(row / L);
        throw new TraceError(`row ${t}, layer ${row % L}: expert id ${e} out of range 0..${E - 1}`, where);
      }
      for (let q = 0; q < j; q++)
        if (ex[i + q] === e) throw new TraceError(`row ${Math.floor(row / L)}, layer ${row % L}: expert ${e} appears twice in the top-${K}`, where);
    }
  }
  if (c.weights) for (let i = 0; i < c.weights.length; i++) if (!Number.isFinite(c.weights[i])) throw new TraceError(`row ${Math.floor(i / (L * K))}: non-finite routing weight`, where);
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
  const listField = (name: string, width: number, child: Int16 | Float32) =>
    new Field(name, new FixedSizeList(width, new Field('item', child, false)), false);
  cols.push([listField('experts', L * K, new Int16()), fixedList(c.experts, L * K, new Int16(), n)]);
  if (m.hasWeights) {
    if (!c.weights) throw new Error('manifest has weights but the chunk has none');
    cols.push([listField('weights', L * K, new Float32()), fixedList(c.weights, L * K, new Float32(), n)]);
  }
  if (m.hasLogits) {
    if (!c.logits) throw new Error('manifest has logits but the chunk has none');
    cols.push([listField('logits', L * E, new Float32()), fixedList(c.logits, L * E, new Float32(), n)]);
  }
  const fields = cols.map(([f]) => f);
  const schema = new Schema(fields, new Map([[SCHEMA_METADATA_KEY, '1']]));
  const struct = makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols.map(([, d]) => d) });
  const table = new Table(schema, [new RecordBatch(schema, struct)]);
  return tableToIPC(table, 'file');
}
