/** The utilisation chart's numbers: each expert's share against uniform use, in an order, over a zoomed range. */

export type UtilisationOrder = 'expert' | 'share';

export interface UtilisationBar {
  expert: number;
  /** Share of the layer's top-k selections. */
  share: number;
  /** share / (1/E): 1 is uniform use. */
  ratio: number;
}

/** Every expert's bar, by expert id or busiest first (ties by id, so the order is stable). */
export function utilisationBars(shares: readonly number[], order: UtilisationOrder): UtilisationBar[] {
  const E = shares.length;
  const bars = shares.map((share, expert) => ({ expert, share, ratio: share * E }));
  if (order === 'share') bars.sort((a, b) => b.share - a.share || a.expert - b.expert);
  return bars;
}

/**
 * Half-height of the log2 scale centred on uniform use: the largest |log2 ratio| among the bars shown, rounded up to
 * a whole factor of 2, at least 1 (×½ to ×2). An unused expert (ratio 0) sits at the bottom and does not widen it;
 * when every bar is unused the scale is ×½ to ×2.
 */
export function ratioSpan(bars: readonly UtilisationBar[]): number {
  let m = 0;
  for (const b of bars) if (b.ratio > 0 && Number.isFinite(b.ratio)) m = Math.max(m, Math.abs(Math.log2(b.ratio)));
  return Math.max(1, Math.ceil(m - 1e-9));
}

/** log2 of a ratio, clamped into [-span, span]; an unused expert (0) is -span. */
export function clampedLog2(ratio: number, span: number): number {
  if (!(ratio > 0)) return -span;
  return Math.max(-span, Math.min(span, Math.log2(ratio)));
}

/** A factor as people read it: ×1, ×2, ×4, ×½, ×¼, ×1/8. */
export function factorLabel(log2: number): string {
  if (log2 >= 0) return `×${2 ** log2}`;
  const d = 2 ** -log2;
  return d === 2 ? '×½' : d === 4 ? '×¼' : `×1/${d}`;
}

/** A zoomed range [start, end) of n positions, at least 2 wide, inside 0..n. */
export function clampRange(start: number, end: number, n: number): [number, number] {
  if (n <= 0) return [0, 0];
  let a = Math.max(0, Math.min(n, Math.floor(Math.min(start, end))));
  let b = Math.max(0, Math.min(n, Math.ceil(Math.max(start, end))));
  const min = Math.min(2, n);
  if (b - a < min) {
    b = Math.min(n, a + min);
    a = b - min;
  }
  return [a, b];
}

/** Zooming in or out around the range's centre by a factor of 2 (out stops at everything). */
export function zoomRange([a, b]: [number, number], n: number, dir: 'in' | 'out'): [number, number] {
  const w = b - a;
  const next = dir === 'in' ? Math.max(Math.min(2, n), Math.round(w / 2)) : Math.min(n, w * 2);
  const centre = (a + b) / 2;
  const s = Math.round(centre - next / 2);
  return clampRange(Math.max(0, Math.min(n - next, s)), Math.max(0, Math.min(n - next, s)) + next, n);
}
