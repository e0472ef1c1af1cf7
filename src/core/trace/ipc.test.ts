// The Arrow IPC structure check (ipc.ts): what apache-arrow and pyarrow write is accepted; bounds are checked
// before anything is allocated. Hostile files and fuzz findings are in hostile.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { checkIpcStructure } from './ipc';
import { encodeShard } from './shard';
import { syntheticTrace } from './synthetic';

const DEMO = fileURLToPath(new URL('../../../traces/demo/', import.meta.url));
const set = syntheticTrace({ tokens: 50, numLayers: 4, numExperts: 8, topK: 2, seqLen: 10 });
const m = set.manifest;
const bytes = encodeShard(set.chunks[0], m);

const le32 = (v: number) => new Uint8Array(Int32Array.of(v).buffer);
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('Arrow IPC structure check', () => {
  it('accepts what apache-arrow writes, as a file and as a stream, and pyarrow shards', () => {
    expect(checkIpcStructure(bytes, 's')).toMatchObject({ format: 'file', recordBatches: 1, rows: 50 });
    const stream = tableToIPC(tableFromIPC(bytes), 'stream');
    expect(checkIpcStructure(stream, 's')).toMatchObject({ format: 'stream', recordBatches: 1, rows: 50 });
    for (const f of readdirSync(DEMO).filter((x) => x.endsWith('.arrow')))
      expect(checkIpcStructure(new Uint8Array(readFileSync(DEMO + f)), f).rows).toBeGreaterThan(0);
  });

  it('accepts every column type pyarrow writes that apache-arrow reads (extra columns are allowed), V4 and V5', () => {
    const dir = fileURLToPath(new URL('./fixtures/pyarrow-layouts/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.arrow'));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) {
      const b = new Uint8Array(readFileSync(dir + f));
      expect(checkIpcStructure(b, f), f).toMatchObject({ rows: 20, recordBatches: 3 });
      expect(tableFromIPC(b).numRows).toBe(20);
    }
  });

  it('rejects a footer length that does not fit in the file', () => {
    const b = bytes.slice();
    new DataView(b.buffer).setInt32(b.length - 10, 0x7fffffff, true);
    expect(() => checkIpcStructure(b, 'f.arrow')).toThrow(/^f\.arrow: file footer length 2147483647 does not fit in the \d+-byte file/);
  });

  it('rejects a stream message whose metadata length runs past the end', () => {
    const b = tableToIPC(tableFromIPC(bytes), 'stream').slice();
    new DataView(b.buffer).setInt32(4, 1 << 30, true);
    expect(() => checkIpcStructure(b, 's.arrow')).toThrow(/^s\.arrow: message 0 at byte 0: metadata length 1073741824 exceeds the \d+ bytes left/);
  });

  it('rejects a footer that lists one record batch twice (a small file posing as a big one)', () => {
    // Two equal batches; point the second footer block at the first batch.
    const t = tableFromIPC(bytes);
    const half = (a: number, b: number) => t.slice(a, b).batches[0];
    const two = tableToIPC(new Table(t.schema, [half(0, 25), half(25, 50)]), 'file').slice();
    const dv = new DataView(two.buffer);
    const footerEnd = two.length - 10;
    const footerStart = footerEnd - dv.getInt32(footerEnd, true);
    // The messages before the footer, by their continuation markers (apache-arrow writes no schema message
    // there; the data holds no 0xFFFFFFFF word): the last two are the record batches.
    const messages: number[] = [];
    for (let p = 8; p < footerStart; p += 8) if (dv.getUint32(p, true) === 0xffffffff && dv.getInt32(p + 4, true) > 0) messages.push(p);
    const [o1, o2] = messages.slice(-2);
    const at = indexOfBytes(two, new Uint8Array(BigInt64Array.of(BigInt(o2)).buffer), footerStart);
    expect(at).toBeGreaterThan(0);
    dv.setBigInt64(at, BigInt(o1), true);
    expect(() => checkIpcStructure(two, 'dup.arrow')).toThrow(/^dup\.arrow: record batch 1 overlaps record batch 0/);
  });
});
