/** Test-only: a net's analytic gradient against central finite differences of its loss, parameter by parameter. */
import { expect } from 'vitest';

export function expectFiniteDifferences(
  params: Float32Array,
  grads: Float32Array,
  analytic: Float32Array,
  loss: () => number,
  picks: number[],
  eps = 1e-2,
): void {
  for (const i of picks) {
    const p0 = params[i];
    params[i] = p0 + eps;
    const up = loss();
    params[i] = p0 - eps;
    const down = loss();
    params[i] = p0;
    grads.fill(0);
    const numeric = (up - down) / (2 * eps);
    expect(Math.abs(numeric - analytic[i]), `param ${i}: numeric ${numeric}, analytic ${analytic[i]}`).toBeLessThan(0.02 * Math.max(1, Math.abs(analytic[i])));
  }
}
