import { describe, expect, it } from 'vitest';
import { blocksFor, expertColour, layerWidth, MAX_SCROLL_SPACE, virtualScroll, visibleRows, visibleToken } from './tokenGrid';

describe('token view arithmetic', () => {
  it('fetches only the blocks the visible rows and their overscan fall in', () => {
    expect(blocksFor(0, 20, 100_000, 10, 256)).toEqual([0]);
    expect(blocksFor(250, 270, 100_000, 10, 256)).toEqual([0, 1]);
    expect(blocksFor(99_990, 99_999, 100_000, 10, 256)).toEqual([390]);
    expect(blocksFor(5, 3, 100, 0)).toEqual([]);
    expect(blocksFor(0, 0, 0, 10)).toEqual([]);
  });

  it('finds the visible rows of a scroll position, clamped to the rows there are', () => {
    expect(visibleRows(0, 396, 18, 100_000)).toEqual({ first: 0, last: 21 });
    expect(visibleRows(18 * 500 + 5, 396, 18, 100_000)).toEqual({ first: 500, last: 522 });
    expect(visibleRows(1e12, 396, 18, 30)).toEqual({ first: 29, last: 29 });
    expect(visibleRows(0, 396, 18, 0)).toEqual({ first: 0, last: -1 });
  });

  it('scrolls 1:1 while the rows fit, and scales a scroll space too tall for a browser so the last row is reached', () => {
    expect(virtualScroll(900, 400, 100_000, 18)).toEqual({ space: 1_800_000, rowTop: 900 });
    const rows = 10_000_000;
    const end = virtualScroll(MAX_SCROLL_SPACE, 400, rows, 18);
    expect(end.space).toBe(MAX_SCROLL_SPACE);
    expect(end.rowTop).toBe(rows * 18 - 400);
    expect(visibleRows(end.rowTop, 400, 18, rows).last).toBe(rows - 1);
    expect(virtualScroll(-50, 400, rows, 18).rowTop).toBe(0);
  });

  it('gives each layer a cell about 720 px / layers wide with room for its top-k stripes', () => {
    expect(layerWidth(6, 2)).toBe(48);
    expect(layerWidth(26, 6)).toBe(27);
    expect(layerWidth(200, 8)).toBe(16);
  });

  it('colours experts apart: distinct colours for 8 and for 64 experts', () => {
    expect(new Set(Array.from({ length: 8 }, (_, e) => expertColour(e, 8))).size).toBe(8);
    expect(new Set(Array.from({ length: 64 }, (_, e) => expertColour(e, 64))).size).toBe(64);
    expect(expertColour(3, 64)).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('shows token text on one line, with control characters as visible marks', () => {
    expect(visibleToken('hello')).toBe('hello');
    expect(visibleToken(' a\n')).toBe(' a↵');
    expect(visibleToken('\t')).toBe('⇥');
    expect(visibleToken('\u0001')).toBe('\\x01');
    expect(visibleToken('')).toBe('∅');
    expect(visibleToken(null)).toBe('∅');
  });
});
