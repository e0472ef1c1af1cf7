import { readFileSync } from 'node:fs';
import type { Download, Page } from '@playwright/test';
import { expect, test } from './fixtures';

/**
 * Exported figures stand alone: every chart's SVG file, opened by itself in Chromium, in the screen and the
 * figure layout, has no text cut off at its edges and no two texts on top of each other (text boxes measured);
 * heatmaps carry their title and colour scale, the entropy figure its axis titles.
 */
const CHARTS: { tab: string; id: string; needs: RegExp[] }[] = [
  { tab: 'overview', id: 'entropy-chart', needs: [/>layer<\/text>/, />entropy \(bits\)<\/text>/] },
  { tab: 'overview', id: 'utilisation-heatmap', needs: [/>Expert utilisation per layer<\/text>/] },
  {
    tab: 'overview',
    id: 'utilisation-chart',
    needs: [/>Expert utilisation at layer \d+ against uniform use \([\d.]+% each\)<\/text>/, />share ÷ uniform \(log₂\)<\/text>/],
  },
  { tab: 'coactivation', id: 'coactivation-heatmap', needs: [/>Co-activation of expert pairs at layer \d+<\/text>/] },
  { tab: 'transitions', id: 'transition-heatmap', needs: [/>Transitions from layer \d+ to the next<\/text>/] },
  { tab: 'reuse', id: 'reuse-chart', needs: [/>share of pairs<\/text>/, />any shared, uniform chance<\/text>/] },
];

async function svgOf(page: Page, id: string): Promise<string> {
  const [d]: [Download, void] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`${id}-export-svg`).click()]);
  return readFileSync((await d.path())!, 'utf8');
}

interface Box {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The file alone in a page: each text's box (page pixels) and the drawing's box. */
async function measure(page: Page, svg: string): Promise<{ view: Box; texts: Box[] }> {
  await page.setContent(`<!doctype html><html><body style="margin:0">${svg.replace(/^<\?xml[^>]*>\s*/, '')}</body></html>`);
  return page.evaluate(() => {
    const box = (e: Element, text = ''): Box => {
      const r = e.getBoundingClientRect();
      return { text, x: r.left, y: r.top, w: r.width, h: r.height };
    };
    const svgEl = document.querySelector('svg')!;
    const texts = [...svgEl.querySelectorAll('text')].filter((t) => (t.textContent ?? '').trim() !== '' && getComputedStyle(t).display !== 'none');
    return { view: box(svgEl), texts: texts.map((t) => box(t, t.textContent!.trim())) };
  });
}

const overlap = (a: Box, b: Box) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

test.describe.configure({ timeout: 180_000 });

test('every exported chart, in both layouts, keeps all its text inside the drawing and apart', async ({ page, context }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  const files: { layout: string; id: string; svg: string }[] = [];
  for (const layout of ['screen', 'figure']) {
    if (layout === 'figure') await page.getByTestId('figure-toggle').check();
    for (const c of CHARTS) {
      await page.getByTestId(`tab-${c.tab}`).click();
      await expect(page.getByTestId(`${c.id}-export-svg`)).toBeVisible();
      files.push({ layout, id: c.id, svg: await svgOf(page, c.id) });
    }
  }
  const viewer = await context.newPage();
  for (const f of files) {
    const what = `${f.id} (${f.layout})`;
    for (const re of CHARTS.find((c) => c.id === f.id)!.needs) expect(f.svg, what).toMatch(re);
    if (f.id.endsWith('heatmap')) expect(f.svg.match(/<rect /g)?.length ?? 0, `${what}: colour scale`).toBeGreaterThanOrEqual(32);
    const { view, texts } = await measure(viewer, f.svg);
    expect(texts.length, what).toBeGreaterThan(3);
    for (const t of texts) {
      expect(t.x, `${what}: "${t.text}" cut at the left`).toBeGreaterThanOrEqual(view.x - 0.5);
      expect(t.y, `${what}: "${t.text}" cut at the top`).toBeGreaterThanOrEqual(view.y - 0.5);
      expect(t.x + t.w, `${what}: "${t.text}" cut at the right`).toBeLessThanOrEqual(view.x + view.w + 0.5);
      expect(t.y + t.h, `${what}: "${t.text}" cut at the bottom`).toBeLessThanOrEqual(view.y + view.h + 0.5);
    }
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i];
        const b = texts[j];
        // Glyph boxes include line spacing: a sliver of shared box (under 15% of the smaller) is not overlap.
        const share = overlap(a, b) / Math.min(a.w * a.h, b.w * b.h);
        expect(share, `${what}: "${a.text}" and "${b.text}" overlap`).toBeLessThan(0.15);
      }
  }
  await viewer.close();
});
