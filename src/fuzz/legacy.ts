/**
 * Rewrites an Arrow IPC stream in the pre-0.15 framing (each message prefixed by its int32 metadata length
 * alone) into the current framing (0xFFFFFFFF, then the length). Most of the published OSS-Fuzz Arrow inputs
 * use the old framing, which the shard reader rejects at its first four bytes; rewritten, they reach the
 * structure check and apache-arrow, so the hostile-file test exercises those too. Best effort: at the first
 * message it cannot follow, the rest is copied as it is.
 */
import { concat } from './mutate';

export function modernizeLegacyStream(b: Uint8Array): Uint8Array | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 4 || dv.getUint32(0, true) === 0xffffffff || String.fromCharCode(...b.subarray(0, 6)) === 'ARROW1') return null;
  const parts: Uint8Array[] = [];
  let pos = 0;
  const ok = (p: number, n: number) => p >= 0 && p + n <= b.length;
  while (ok(pos, 4)) {
    const len = dv.getInt32(pos, true);
    if (len <= 0 || !ok(pos + 4, len)) break;
    // Message.bodyLength: field 3 of the root table of the metadata flatbuffer.
    const meta = pos + 4;
    const root = meta + dv.getUint32(meta, true);
    if (!ok(root, 4)) break;
    const vt = root - dv.getInt32(root, true);
    if (!ok(vt, 4)) break;
    const vsize = dv.getUint16(vt, true);
    const off = vsize > 10 && ok(vt + 10, 2) ? dv.getUint16(vt + 10, true) : 0;
    const body = off && ok(root + off, 8) ? Number(dv.getBigInt64(root + off, true)) : 0;
    const end = meta + len + body;
    if (!(body >= 0) || !ok(meta, len + body)) break;
    const head = new Uint8Array(8);
    new DataView(head.buffer).setUint32(0, 0xffffffff, true);
    new DataView(head.buffer).setInt32(4, len, true);
    parts.push(head, b.subarray(meta, end));
    pos = end;
  }
  if (parts.length === 0) return null;
  parts.push(b.subarray(pos));
  return concat(...parts);
}
