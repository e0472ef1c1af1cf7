import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from './safetensors';

describe('safetensors', () => {
  it('round-trips tensors and metadata with an 8-byte aligned data section', () => {
    const t = { b: { shape: [3], data: Float32Array.of(1, -2, 0.5) }, a: { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } };
    const bytes = encodeSafetensors(t, { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    // Sorted by name, contiguous.
    expect(header.a.data_offsets).toEqual([0, 16]);
    expect(header.b.data_offsets).toEqual([16, 28]);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Array.from(back.tensors.a.data)).toEqual([1, 2, 3, 4]);
    expect(back.tensors.b.shape).toEqual([3]);
  });

  it('rejects a shape that does not match the data, and a header past the end', () => {
    expect(() => encodeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/shape \[2,2\] holds 4 values/);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 1000n, true);
    expect(() => decodeSafetensors(bad)).toThrow(/header length 1000 exceeds the file/);
  });
});
