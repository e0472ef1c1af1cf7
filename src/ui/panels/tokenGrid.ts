/** The token view's arithmetic: which blocks of rows to fetch, cell geometry, expert colours, token text shown. */
import { hsl, schemeTableau10 } from 'd3';

/** Rows fetched per request to the trace worker. */
export const TOKEN_BLOCK = 256;

/** The blocks (of `block` rows) that rows first..last, with `overscan` rows either side, fall in. */
export function blocksFor(first: number, last: number, rows: number, overscan: number, block = TOKEN_BLOCK): number[] {
  if (rows <= 0 || last < first) return [];
  const lo = Math.max(0, first - overscan);
  const hi = Math.min(rows - 1, last + overscan);
  if (hi < lo) return [];
  const out: number[] = [];
  for (let b = Math.floor(lo / block); b <= Math.floor(hi / block); b++) out.push(b);
  return out;
}

/** The rows a scroll position shows: the first (partly) visible row and the last. */
export function visibleRows(scrollTop: number, height: number, rowHeight: number, rows: number): { first: number; last: number } {
  if (rows <= 0 || rowHeight <= 0) return { first: 0, last: -1 };
  const first = Math.max(0, Math.min(rows - 1, Math.floor(scrollTop / rowHeight)));
  const last = Math.max(first, Math.min(rows - 1, Math.ceil((scrollTop + height) / rowHeight) - 1));
  return { first, last };
}

/** Width of one layer's cell, px: its top-k stripes side by side, the whole grid near `target` px wide. */
export function layerWidth(layers: number, topK: number, target = 720): number {
  const w = Math.floor(target / Math.max(1, layers));
  return Math.max(Math.max(8, 2 * topK), Math.min(48, w));
}

/**
 * A colour per expert, told apart from its neighbours: Tableau 10 for up to ten experts, else hues a golden angle
 * apart with three lightness levels, so 64 or 128 experts do not run into a smooth (and unreadable) ramp.
 */
export function expertColour(e: number, experts: number): string {
  if (experts <= schemeTableau10.length) return schemeTableau10[e % schemeTableau10.length];
  const hue = (e * 137.508) % 360;
  const light = [0.45, 0.62, 0.78][e % 3];
  return hsl(hue, 0.7, light).formatHex();
}

/** Token text as shown in one line: line breaks, tabs and other control characters as visible marks; none as ∅. */
export function visibleToken(text: string | null | undefined): string {
  if (text === null || text === undefined || text === '') return '∅';
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r\n|\n|\r|\t|[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
    c === '\t' ? '⇥' : c === '\n' || c === '\r' || c === '\r\n' ? '↵' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** Browsers cap an element's height (Chromium near 33.5M px): a scroll space never exceeds this. */
export const MAX_SCROLL_SPACE = 15_000_000;

/**
 * The scroll space for `rows` rows and where its scroll position lands in row pixels: 1:1 while the rows fit in
 * `maxSpace`, else scaled so the last row is still reached (a 10M-token set scrolls end to end).
 */
export function virtualScroll(scrollTop: number, viewH: number, rows: number, rowH: number, maxSpace = MAX_SCROLL_SPACE): { space: number; rowTop: number } {
  const full = rows * rowH;
  const space = Math.min(full, maxSpace);
  const maxScroll = Math.max(0, space - viewH);
  const top = Math.max(0, Math.min(maxScroll, scrollTop));
  const rowTop = space === full || maxScroll === 0 ? top : (top / maxScroll) * Math.max(0, full - viewH);
  return { space, rowTop };
}
