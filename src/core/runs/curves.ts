/**
 * Accuracy curves of several runs on one chart: align them by epoch, smooth each with an exponential moving
 * average, and the min/max band across runs at every epoch. Pure functions over plain arrays.
 */

/** One run's curve: a value per epoch (1-based epochs, in any order, gaps allowed). */
export interface Curve {
  epochs: number[];
  values: number[];
}

/**
 * Exponential moving average with smoothing weight `weight` in [0, 1): s_t = w·s_{t-1} + (1-w)·v_t, debiased as in
 * TensorBoard (divided by 1 - w^n) so the first points are not pulled towards 0. null (no value) stays null and
 * does not count. weight 0 returns the values unchanged.
 */
export function ema(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  let acc = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    acc = weight * acc + (1 - weight) * v;
    n++;
    return weight === 0 ? v : acc / (1 - weight ** n);
  });
}

/** The sorted union of the curves' epochs, and each curve's value at each of them (null where it has none). */
export function alignByEpoch(curves: readonly Curve[]): { epochs: number[]; values: (number | null)[][] } {
  const epochs = [...new Set(curves.flatMap((c) => c.epochs))].sort((a, b) => a - b);
  const index = new Map(epochs.map((e, i) => [e, i]));
  const values = curves.map((c) => {
    const row: (number | null)[] = epochs.map(() => null);
    c.epochs.forEach((e, i) => (row[index.get(e)!] = c.values[i]));
    return row;
  });
  return { epochs, values };
}

/** Lowest and highest value across the series at each position; null where no series has a value. */
export function minMaxBand(series: readonly (readonly (number | null)[])[]): { min: (number | null)[]; max: (number | null)[] } {
  const n = Math.max(0, ...series.map((s) => s.length));
  const min: (number | null)[] = [];
  const max: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      const v = s[i];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    min.push(lo === Infinity ? null : lo);
    max.push(hi === -Infinity ? null : hi);
  }
  return { min, max };
}

/** Mean of a per-horizon-step array (recall@k over the steps), null for none. */
export function meanOf(a: readonly number[] | null | undefined): number | null {
  if (!a || a.length === 0) return null;
  return a.reduce((s, v) => s + v, 0) / a.length;
}
