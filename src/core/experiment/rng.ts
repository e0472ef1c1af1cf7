/**
 * A small seeded PRNG (SplitMix32-style mixing of a Weyl sequence): same seed, same stream, on every platform.
 * Math.random cannot be seeded, and experiments must replay exactly from their URL.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}
