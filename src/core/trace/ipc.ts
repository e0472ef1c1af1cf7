/**
 * Structural pre-validation of Arrow IPC bytes, run before apache-arrow sees them.
 *
 * apache-arrow's reader trusts the lengths, offsets and counts inside a file: hostile bytes can make it
 * recurse through a cyclic schema, read record batches that overlap a thousand times, or walk a column
 * that claims billions of rows. This module reads the IPC framing and the flatbuffer metadata itself, with
 * every read bounds-checked, and rejects anything whose declared sizes do not fit in the bytes:
 *  - file: leading and trailing "ARROW1" magic, footer length within the file, footer schema, and every
 *    dictionary/record batch block inside the data region, without overlap;
 *  - stream: a sequence of continuation-framed messages whose metadata and bodies lie within the bytes;
 *  - each message: metadata version V4/V5, a Schema, DictionaryBatch or RecordBatch header, no compression,
 *    row and node counts bounded by the body's bits, buffers inside the body, nodes matching the schema.
 * The work here is linear in the byte count (schema walks are capped), so it can run on the main thread.
 * See https://arrow.apache.org/docs/format/Columnar.html#serialization-and-interprocess-communication-ipc
 */
import { TraceError } from './types';

/** Caps on what a shard's metadata may declare, far above any real trace shard. */
export const IPC_LIMITS = {
  /** Fields in a schema, counting nested children (with multiplicity, so a cyclic schema is caught). */
  maxFields: 10_000,
  /** Nesting depth of a schema's fields. */
  maxDepth: 64,
  /** Messages in a stream, or blocks in a file footer. */
  maxMessages: 100_000,
} as const;

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"
const CONTINUATION = 0xffffffff;

/** MessageHeader union tags (Message.fbs). */
const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY = 2;
const HEADER_RECORD_BATCH = 3;
const HEADER_NAMES = ['NONE', 'Schema', 'DictionaryBatch', 'RecordBatch', 'Tensor', 'SparseTensor'];
/** MetadataVersion V4 and V5 (Schema.fbs); older versions predate Arrow 0.8. */
const V4 = 3;
const V5 = 4;

export interface IpcLayout {
  format: 'file' | 'stream';
  /** Top-level schema fields (columns). */
  columns: number;
  recordBatches: number;
  dictionaryBatches: number;
  /** Rows over all record batches, as declared by their headers. */
  rows: number;
  /** Bytes of record batch bodies. */
  bodyBytes: number;
}

/** Bounds-checked reads of little-endian flatbuffer data inside bytes[start, end). */
class FlatReader {
  private readonly dv: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly end: number,
    private readonly what: string,
    private readonly where: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(msg: string): never {
    throw new TraceError(`${this.what}: ${msg}`, this.where);
  }

  private need(pos: number, n: number): void {
    if (!(pos >= this.start && pos + n <= this.end))
      this.fail(`flatbuffer offset ${pos - this.start} points outside its ${this.end - this.start} bytes (corrupted metadata)`);
  }
  u8(pos: number): number {
    this.need(pos, 1);
    return this.dv.getUint8(pos);
  }
  u16(pos: number): number {
    this.need(pos, 2);
    return this.dv.getUint16(pos, true);
  }
  i16(pos: number): number {
    this.need(pos, 2);
    return this.dv.getInt16(pos, true);
  }
  u32(pos: number): number {
    this.need(pos, 4);
    return this.dv.getUint32(pos, true);
  }
  i32(pos: number): number {
    this.need(pos, 4);
    return this.dv.getInt32(pos, true);
  }
  /** A signed 64-bit value that must be a non-negative safe integer (lengths, counts, offsets). */
  count(pos: number, name: string): number {
    this.need(pos, 8);
    const v = this.dv.getBigInt64(pos, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${name} ${v} is out of range`);
    return Number(v);
  }

  /** UTF-8 text of `len` bytes at `pos` (bounds-checked). */
  text(pos: number, len: number): string {
    this.need(pos, len);
    return new TextDecoder().decode(this.bytes.subarray(pos, pos + len));
  }
  /** The root table's position. */
  root(): number {
    return this.start + this.u32(this.start);
  }
  /** Position of field `slot` of the table at `table`, or 0 when absent. */
  field(table: number, slot: number): number {
    const vt = table - this.i32(table);
    const vsize = this.u16(vt);
    const tsize = this.u16(vt + 2);
    if (vsize < 4 || vsize % 2 !== 0) this.fail('malformed flatbuffer vtable');
    this.need(vt, vsize);
    this.need(table, tsize);
    if (4 + 2 * slot >= vsize) return 0;
    const off = this.u16(vt + 4 + 2 * slot);
    if (off === 0) return 0;
    if (off >= tsize) this.fail('flatbuffer field lies outside its table');
    return table + off;
  }
  /** The table referenced by field `slot`, or 0. */
  table(table: number, slot: number): number {
    const p = this.field(table, slot);
    return p ? this.ref(p) : 0;
  }
  /** Follows the uoffset at `p`. */
  ref(p: number): number {
    const target = p + this.u32(p);
    this.need(target, 4);
    return target;
  }
  /** The vector referenced by field `slot` with elements of `size` bytes: its first element and length. */
  vector(table: number, slot: number, size: number): { at: number; length: number } {
    const p = this.field(table, slot);
    if (!p) return { at: 0, length: 0 };
    const v = this.ref(p);
    const length = this.u32(v);
    if (length > (this.end - v - 4) / size) this.fail(`vector of ${length} elements does not fit in the metadata`);
    return { at: v + 4, length };
  }
}

/** Checks the string referenced by field `slot` (bytes and NUL terminator inside the metadata). */
function checkString(fb: FlatReader, table: number, slot: number): void {
  const p = fb.field(table, slot);
  if (!p) return;
  const s = fb.ref(p);
  fb.u8(s + 4 + fb.u32(s));
}

/**
 * Checks a custom_metadata vector ([KeyValue]). apache-arrow iterates such vectors by their declared length
 * even past the end of the buffer, so an unchecked length of 2^31 keeps it busy for minutes.
 */
function checkKeyValues(fb: FlatReader, table: number, slot: number): void {
  const kv = fb.vector(table, slot, 4);
  for (let i = 0; i < kv.length; i++) {
    const entry = fb.ref(kv.at + 4 * i);
    checkString(fb, entry, 0);
    checkString(fb, entry, 1);
  }
}

/** Arrow type ids (the Type union of Schema.fbs) and the buffers apache-arrow's reader takes for each. */
const TYPE_NAMES = [
  'NONE',
  'Null',
  'Int',
  'FloatingPoint',
  'Binary',
  'Utf8',
  'Bool',
  'Decimal',
  'Date',
  'Time',
  'Timestamp',
  'Interval',
  'List',
  'Struct',
  'Union',
  'FixedSizeBinary',
  'FixedSizeList',
  'Map',
  'Duration',
  'LargeBinary',
  'LargeUtf8',
  'LargeList',
  'RunEndEncoded',
  'BinaryView',
  'Utf8View',
  'ListView',
  'LargeListView',
];
const TYPE_UNION = 14;
const BUFFERS_OF_TYPE: Record<number, number> = {
  1: 0, // Null
  2: 2,
  3: 2,
  6: 2,
  7: 2,
  8: 2,
  9: 2,
  10: 2,
  11: 2,
  15: 2,
  18: 2, // validity + values
  4: 3,
  5: 3,
  19: 3,
  20: 3, // validity + offsets + bytes
  12: 2,
  17: 2,
  21: 2, // validity + offsets, then the child
  13: 1,
  16: 1, // validity, then the children
  23: 2,
  24: 2, // views: validity + views, then variadic data buffers
};
const VIEW_TYPES = new Set([23, 24]);

/** What a record batch of some schema (or a dictionary batch) must carry. */
interface BatchLayout {
  nodes: number;
  buffers: number;
  /** Binary/Utf8 view fields: each also takes the number of data buffers its variadicBufferCounts entry says. */
  views: number;
}

interface SchemaInfo {
  columns: number;
  batch: BatchLayout;
  /** Dictionary id → layout of its dictionary batches. */
  dictionaries: Map<number, BatchLayout>;
}

function readName(fb: FlatReader, field: number): string {
  const p = fb.field(field, 0);
  if (!p) return '';
  const s = fb.ref(p);
  const len = fb.u32(s);
  fb.u8(s + 4 + len);
  return fb.text(s + 4, Math.min(len, 40));
}

/**
 * Walks a Schema table: bounded field count and depth, little-endian, only types apache-arrow reads. Works
 * out how many field nodes and buffers a record batch needs, the way apache-arrow's loader will take them
 * (it reads past the end of short lists instead of failing cleanly).
 */
function readSchema(fb: FlatReader, schema: number, version: number): SchemaInfo {
  if (!schema) fb.fail('schema is missing');
  const endianness = fb.field(schema, 0);
  if (endianness && fb.i16(endianness) !== 0) fb.fail('big-endian data is not supported');
  const fields = fb.vector(schema, 1, 4);
  checkKeyValues(fb, schema, 2);
  fb.vector(schema, 3, 8); // features
  const dictionaries = new Map<number, BatchLayout>();
  let seen = 0;
  // Returns the layout of the field at `pos` in a record batch.
  const walk = (pos: number, depth: number, path: string): BatchLayout => {
    if (++seen > IPC_LIMITS.maxFields) fb.fail(`schema has more than ${IPC_LIMITS.maxFields} fields (nested fields included)`);
    if (depth > IPC_LIMITS.maxDepth) fb.fail(`schema nests fields deeper than ${IPC_LIMITS.maxDepth} levels`);
    const field = fb.ref(pos);
    const name = path + JSON.stringify(readName(fb, field));
    checkKeyValues(fb, field, 6);
    const typeAt = fb.field(field, 2);
    const typeId = typeAt ? fb.u8(typeAt) : 0;
    const type = fb.table(field, 3);
    let buffers = BUFFERS_OF_TYPE[typeId];
    // Writers always write the type's table (empty for types without parameters); apache-arrow reads it unchecked.
    if (buffers !== undefined && !type) fb.fail(`field ${name}: its ${TYPE_NAMES[typeId]} type has no type table (corrupted metadata)`);
    if (typeId === TYPE_UNION) {
      if (type) fb.vector(type, 1, 4); // typeIds
      const modeAt = type ? fb.field(type, 0) : 0;
      const dense = modeAt ? fb.i16(modeAt) === 1 : false;
      buffers = (version < V5 ? 1 : 0) + (dense ? 2 : 1);
    }
    if (buffers === undefined) fb.fail(`field ${name}: Arrow type ${TYPE_NAMES[typeId] ?? `id ${typeId}`} is not supported`);
    const own: BatchLayout = { nodes: 1, buffers, views: VIEW_TYPES.has(typeId) ? 1 : 0 };
    const children = fb.vector(field, 5, 4);
    for (let i = 0; i < children.length; i++) {
      const c = walk(children.at + 4 * i, depth + 1, `${name}.`);
      own.nodes += c.nodes;
      own.buffers += c.buffers;
      own.views += c.views;
    }
    const dictionary = fb.table(field, 4);
    if (!dictionary) return own;
    // A dictionary-encoded field's batch holds only its indices; its dictionary batches hold the values.
    const idAt = fb.field(dictionary, 0);
    dictionaries.set(idAt ? fb.count(idAt, `field ${name} dictionary id`) : 0, own);
    return { nodes: 1, buffers: 2, views: 0 };
  };
  const batch: BatchLayout = { nodes: 0, buffers: 0, views: 0 };
  for (let i = 0; i < fields.length; i++) {
    const f = walk(fields.at + 4 * i, 1, '');
    batch.nodes += f.nodes;
    batch.buffers += f.buffers;
    batch.views += f.views;
  }
  return { columns: fields.length, batch, dictionaries };
}

interface BatchInfo {
  rows: number;
}

/** Checks a RecordBatch table against its body length and the layout the schema gives it. */
function readRecordBatch(fb: FlatReader, batch: number, bodyLength: number, expect: BatchLayout): BatchInfo {
  if (!batch) fb.fail('record batch header is missing');
  const lengthAt = fb.field(batch, 0);
  const rows = lengthAt ? fb.count(lengthAt, 'row count') : 0;
  // No value takes less than one bit of body, so a body of B bytes cannot hold more than 8·B values.
  const maxValues = bodyLength * 8;
  if (rows > maxValues) fb.fail(`declares ${rows} rows but its body has only ${bodyLength} bytes`);
  if (fb.field(batch, 3)) fb.fail('compressed record batches are not supported (write shards uncompressed)');
  const nodes = fb.vector(batch, 1, 16);
  if (nodes.length !== expect.nodes) fb.fail(`has ${nodes.length} field nodes, the schema needs ${expect.nodes}`);
  for (let i = 0; i < nodes.length; i++) {
    const length = fb.count(nodes.at + 16 * i, `field node ${i} length`);
    const nulls = fb.count(nodes.at + 16 * i + 8, `field node ${i} null count`);
    if (length > maxValues) fb.fail(`field node ${i} declares ${length} values but the body has only ${bodyLength} bytes`);
    if (nulls > length) fb.fail(`field node ${i} declares ${nulls} nulls in ${length} values`);
  }
  const variadic = fb.vector(batch, 4, 8);
  let needBuffers = expect.buffers;
  for (let i = 0; i < Math.min(expect.views, variadic.length); i++) needBuffers += fb.count(variadic.at + 8 * i, `variadic buffer count ${i}`);
  const buffers = fb.vector(batch, 2, 16);
  if (buffers.length < needBuffers) fb.fail(`has ${buffers.length} buffers, the schema needs ${needBuffers}`);
  for (let i = 0; i < buffers.length; i++) {
    const offset = fb.count(buffers.at + 16 * i, `buffer ${i} offset`);
    const length = fb.count(buffers.at + 16 * i + 8, `buffer ${i} length`);
    if (offset + length > bodyLength) fb.fail(`buffer ${i} (bytes ${offset}..${offset + length}) lies outside the ${bodyLength}-byte body`);
  }
  return { rows };
}

interface MessageInfo {
  type: number;
  /** Bytes from the message's first byte to the end of its body. */
  size: number;
  bodyLength: number;
  /** Absolute position of the metadata flatbuffer. */
  metaStart: number;
  metaEnd: number;
}

/** Reads the framing of the message at `pos`: continuation marker, metadata length, Message table, body. */
function readMessageFrame(bytes: Uint8Array, pos: number, limit: number, label: string, where: string): MessageInfo | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (pos + 4 > limit) throw new TraceError(`${label} at byte ${pos}: truncated before its length prefix`, where);
  const first = dv.getUint32(pos, true);
  if (first === 0) return null; // end-of-stream marker of the pre-0.15 format
  if (first !== CONTINUATION)
    throw new TraceError(`${label} at byte ${pos}: no 0xFFFFFFFF continuation marker (not Arrow IPC, or written by Arrow before 0.15)`, where);
  if (pos + 8 > limit) throw new TraceError(`${label} at byte ${pos}: truncated inside its length prefix`, where);
  const metaLength = dv.getInt32(pos + 4, true);
  if (metaLength === 0) return null; // end-of-stream marker
  const metaStart = pos + 8;
  if (metaLength < 0 || metaLength > limit - metaStart)
    throw new TraceError(`${label} at byte ${pos}: metadata length ${metaLength} exceeds the ${limit - metaStart} bytes left (truncated or corrupted)`, where);
  const metaEnd = metaStart + metaLength;
  const fb = new FlatReader(bytes, metaStart, metaEnd, `${label} at byte ${pos}`, where);
  const msg = fb.root();
  const versionAt = fb.field(msg, 0);
  const version = versionAt ? fb.i16(versionAt) : 0;
  if (version !== V4 && version !== V5) fb.fail(`metadata version V${version + 1} is not supported (expected V4 or V5)`);
  const typeAt = fb.field(msg, 1);
  const type = typeAt ? fb.u8(typeAt) : 0;
  if (type !== HEADER_SCHEMA && type !== HEADER_DICTIONARY && type !== HEADER_RECORD_BATCH)
    fb.fail(`unsupported message type ${HEADER_NAMES[type] ?? type} (expected Schema, DictionaryBatch or RecordBatch)`);
  checkKeyValues(fb, msg, 4);
  const bodyAt = fb.field(msg, 3);
  const bodyLength = bodyAt ? fb.count(bodyAt, 'body length') : 0;
  if (bodyLength > limit - metaEnd) fb.fail(`body length ${bodyLength} exceeds the ${limit - metaEnd} bytes left (truncated or corrupted)`);
  return { type, size: metaEnd + bodyLength - pos, bodyLength, metaStart, metaEnd };
}

/** Reads the metadata version of the message at `info` (checked to be V4 or V5 by readMessageFrame). */
function messageVersion(bytes: Uint8Array, info: MessageInfo, where: string): number {
  const fb = new FlatReader(bytes, info.metaStart, info.metaEnd, 'message', where);
  const at = fb.field(fb.root(), 0);
  return at ? fb.i16(at) : 0;
}

/** Checks the header of a framed message against the schema; returns the rows of a record batch (0 otherwise). */
function readMessageHeader(
  bytes: Uint8Array,
  info: MessageInfo,
  pos: number,
  label: string,
  where: string,
  schema: SchemaInfo | undefined,
): { rows: number; schema?: SchemaInfo } {
  const fb: FlatReader = new FlatReader(bytes, info.metaStart, info.metaEnd, `${label} at byte ${pos}`, where);
  const header = fb.table(fb.root(), 2);
  if (info.type === HEADER_SCHEMA) return { rows: 0, schema: readSchema(fb, header, messageVersion(bytes, info, where)) };
  if (!schema) fb.fail('a batch before the schema');
  if (info.type === HEADER_DICTIONARY) {
    if (!header) fb.fail('dictionary batch header is missing');
    const idAt = fb.field(header, 0);
    const id = idAt ? fb.count(idAt, 'dictionary id') : 0;
    const layout = schema.dictionaries.get(id);
    if (!layout) fb.fail(`dictionary batch for dictionary id ${id}, which no field of the schema uses`);
    readRecordBatch(fb, fb.table(header, 1), info.bodyLength, layout);
    return { rows: 0 };
  }
  return readRecordBatch(fb, header, info.bodyLength, schema.batch);
}

function hasMagic(bytes: Uint8Array, at: number): boolean {
  return MAGIC.every((b, i) => bytes[at + i] === b);
}

/**
 * Checks the IPC structure of a shard (file or stream format) and returns its layout; throws a TraceError
 * naming `where` and the byte offset of the first problem.
 */
export function checkIpcStructure(bytes: Uint8Array, where: string): IpcLayout {
  if (bytes.length < 16) throw new TraceError(`only ${bytes.length} bytes: too short to be an Arrow IPC shard (truncated?)`, where);
  if (hasMagic(bytes, 0)) return checkFile(bytes, where);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== CONTINUATION) throw new TraceError('not an Arrow IPC file or stream (no ARROW1 magic, no stream header)', where);
  return checkStream(bytes, where);
}

function checkStream(bytes: Uint8Array, where: string): IpcLayout {
  const layout: IpcLayout = { format: 'stream', columns: 0, recordBatches: 0, dictionaryBatches: 0, rows: 0, bodyBytes: 0 };
  let schema: SchemaInfo | undefined;
  let pos = 0;
  for (let i = 0; pos < bytes.length; i++) {
    if (i >= IPC_LIMITS.maxMessages) throw new TraceError(`more than ${IPC_LIMITS.maxMessages} messages`, where);
    const label = `message ${i}`;
    const info = readMessageFrame(bytes, pos, bytes.length, label, where);
    if (!info) break;
    if ((i === 0) !== (info.type === HEADER_SCHEMA))
      throw new TraceError(`${label} at byte ${pos}: ${i === 0 ? 'a stream must begin with its schema' : 'a second schema in one stream'}`, where);
    const h = readMessageHeader(bytes, info, pos, label, where, schema);
    if (h.schema) {
      schema = h.schema;
      layout.columns = h.schema.columns;
    } else if (info.type === HEADER_RECORD_BATCH) {
      layout.recordBatches++;
      layout.rows += h.rows;
      layout.bodyBytes += info.bodyLength;
    } else layout.dictionaryBatches++;
    pos += info.size;
  }
  if (schema === undefined) throw new TraceError('stream holds no schema', where);
  return layout;
}

function checkFile(bytes: Uint8Array, where: string): IpcLayout {
  const n = bytes.length;
  if (!hasMagic(bytes, n - 6)) throw new TraceError('Arrow IPC file does not end with the ARROW1 footer magic (truncated?)', where);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLength = dv.getInt32(n - 10, true);
  // Layout: "ARROW1" + 2 padding bytes, stream messages, footer, int32 footer length, "ARROW1".
  const dataStart = 8;
  const footerEnd = n - 10;
  if (footerLength <= 0 || footerLength > footerEnd - dataStart)
    throw new TraceError(`file footer length ${footerLength} does not fit in the ${n}-byte file (truncated or corrupted)`, where);
  const footerStart = footerEnd - footerLength;
  const fb = new FlatReader(bytes, footerStart, footerEnd, 'file footer', where);
  const footer = fb.root();
  const versionAt = fb.field(footer, 0);
  const version = versionAt ? fb.i16(versionAt) : 0;
  if (version !== V4 && version !== V5) fb.fail(`metadata version V${version + 1} is not supported (expected V4 or V5)`);
  checkKeyValues(fb, footer, 4);
  const schema = readSchema(fb, fb.table(footer, 1), version);
  const layout: IpcLayout = { format: 'file', columns: schema.columns, recordBatches: 0, dictionaryBatches: 0, rows: 0, bodyBytes: 0 };

  // Blocks (struct Block { offset: long; metaDataLength: int; bodyLength: long } = 24 bytes with padding).
  const extents: [number, number, string][] = [];
  for (const [slot, kind] of [
    [2, 'dictionary batch'],
    [3, 'record batch'],
  ] as const) {
    const blocks = fb.vector(footer, slot, 24);
    if (blocks.length > IPC_LIMITS.maxMessages) fb.fail(`lists more than ${IPC_LIMITS.maxMessages} ${kind}es`);
    for (let i = 0; i < blocks.length; i++) {
      const label = `${kind} ${i}`;
      const at = blocks.at + 24 * i;
      const offset = fb.count(at, `${label} offset`);
      const metaLength = fb.i32(at + 8);
      const bodyLength = fb.count(at + 16, `${label} body length`);
      if (metaLength < 8 || offset < dataStart || offset + metaLength + bodyLength > footerStart)
        fb.fail(`${label} (bytes ${offset}..${offset + Math.max(0, metaLength) + bodyLength}) lies outside the data region ${dataStart}..${footerStart}`);
      const info = readMessageFrame(bytes, offset, footerStart, label, where);
      if (!info) throw new TraceError(`${label} at byte ${offset}: end-of-stream marker where a message should be`, where);
      if (info.size > metaLength + bodyLength)
        throw new TraceError(`${label} at byte ${offset}: message of ${info.size} bytes overruns its footer block of ${metaLength + bodyLength}`, where);
      const want = slot === 2 ? HEADER_DICTIONARY : HEADER_RECORD_BATCH;
      if (info.type !== want)
        throw new TraceError(`${label} at byte ${offset}: holds a ${HEADER_NAMES[info.type]} message, expected ${HEADER_NAMES[want]}`, where);
      const h = readMessageHeader(bytes, info, offset, label, where, schema);
      extents.push([offset, offset + metaLength + bodyLength, label]);
      if (slot === 3) {
        layout.recordBatches++;
        layout.rows += h.rows;
        layout.bodyBytes += info.bodyLength;
      } else layout.dictionaryBatches++;
    }
  }
  // Blocks may not share bytes: otherwise a small file could list one big batch many times over.
  extents.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < extents.length; i++)
    if (extents[i][0] < extents[i - 1][1])
      throw new TraceError(`${extents[i][2]} overlaps ${extents[i - 1][2]} (bytes ${extents[i][0]}..${extents[i - 1][1]})`, where);
  return layout;
}
