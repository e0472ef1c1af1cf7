/** Every index when there are few, else about `max` evenly spaced ones (so 128 experts stay legible). */
export function tickIndices(n: number, max = 16): number[] {
  const every = Math.max(1, Math.ceil(n / max));
  const out: number[] = [];
  for (let i = 0; i < n; i += every) out.push(i);
  return out;
}
