import { readFileSync } from 'node:fs';
import type { Download, Page } from '@playwright/test';
import Papa from 'papaparse';
import { decodeLinkHash } from '../src/core/experiment/compactLink';
import { LINK_KEYWORD, pngText } from '../src/core/export/chartFiles';
import { SHORTCUTS } from '../src/ui/shortcuts/table';
import { demoManifest, expect, test } from './fixtures';

async function save(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  const [d]: [Download, void] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) };
}

/** The experiment a file's link names, read back through the page's own link reader. */
const specOf = (link: string) => decodeLinkHash(new URL(link).hash);

test('charts download as PNG, SVG and CSV, each carrying the experiment link; the figure layout changes the files', async ({ page }) => {
  const m = demoManifest();
  await page.goto('/#seed=5');
  await expect(page.getByTestId('trace-summary')).toBeVisible();

  // SVG: a standalone document with the link in <title> and <metadata>, one bar per layer.
  const svg = await save(page, 'entropy-chart-export-svg');
  expect(svg.name).toBe('speclab-entropy-chart.svg');
  const svgText = svg.bytes.toString('utf8');
  expect(svgText.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  const metaLink = /<metadata><speclab:experiment [^>]*href="([^"]+)"/.exec(svgText)?.[1].replace(/&amp;/g, '&');
  expect(metaLink).toMatch(/#v=3&z=/);
  expect(specOf(metaLink!).spec.seed).toBe(5);
  expect(svgText).toMatch(/<title>Routing entropy per MoE layer \(bits\) — http:\/\/[^<]+#v=3&amp;z=/);
  expect(svgText.match(/<rect [^>]*style="[^"]*fill:/g)?.length).toBeGreaterThanOrEqual(m.numLayers);

  // PNG: the signature, a tEXt chunk with the same link, and a real image size.
  const png = await save(page, 'entropy-chart-export-png');
  expect(png.name).toBe('speclab-entropy-chart.png');
  expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const text = pngText(new Uint8Array(png.bytes));
  expect(text[LINK_KEYWORD]).toBe(metaLink);
  expect(png.bytes.readUInt32BE(16)).toBe(640 * 2); // IHDR width: the 640-unit chart at 2 px per unit

  // CSV: the link as a comment line, then one row per MoE layer with the entropy in bits.
  const csv = await save(page, 'entropy-chart-export-csv');
  const [first, ...rest] = csv.bytes.toString('utf8').split('\n');
  expect(first).toBe(`# experiment: ${metaLink}`);
  const rows = Papa.parse<string[]>(rest.join('\n').trim()).data;
  expect(rows[0]).toEqual(['layer', 'entropy_bits', 'uniform_bits']);
  expect(rows).toHaveLength(1 + m.numLayers);
  expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(m.moeLayerIds);
  for (const r of rows.slice(1)) expect(Number(r[1])).toBeGreaterThan(0);
  const bars = await page.getByTestId('entropy-bar').count();
  expect(bars).toBe(m.numLayers);

  // The heatmap's cells are a canvas: the SVG embeds them as an image; the CSV has one row per (layer, expert).
  const heat = (await save(page, 'utilisation-heatmap-export-svg')).bytes.toString('utf8');
  expect(heat).toMatch(/<image [^>]*href="data:image\/png;base64,/);
  const heatCsv = Papa.parse<string[]>((await save(page, 'utilisation-heatmap-export-csv')).bytes.toString('utf8').split('\n').slice(1).join('\n').trim()).data;
  expect(heatCsv).toHaveLength(1 + m.numLayers * m.numExperts);

  // Figure layout: serif text and a light background in the file, even in dark mode; the file name says so.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByTestId('figure-toggle').check();
  const fig = await save(page, 'entropy-chart-export-svg');
  expect(fig.name).toBe('speclab-entropy-chart-figure.svg');
  const figText = fig.bytes.toString('utf8');
  expect(figText).toMatch(/font-family:(&quot;)?Times New Roman/);
  expect(figText).toMatch(/<rect x="0" y="0" width="640" height="236" fill="rgb\(255, 255, 255\)"\/>/);
  expect(svgText).not.toMatch(/Times New Roman/);
  const figPng = await save(page, 'entropy-chart-export-png');
  expect(figPng.bytes.readUInt32BE(16)).toBe(640 * 4);
});

/** The page background as the browser paints it. */
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

test('dark mode follows the system unless overridden, and the choice is kept', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-theme-choice', 'system');
  const dark = await background(page);
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await background(page);
  expect(dark).not.toBe(light);
  // Override: dark on a light system, kept over a reload.
  await page.getByTestId('theme-toggle').click(); // light
  await page.getByTestId('theme-toggle').click(); // dark
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-theme-choice', 'dark');
  expect(await background(page)).toBe(dark);
  await page.reload();
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-theme-choice', 'dark');
  expect(await background(page)).toBe(dark);
  // Light on a dark system.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByTestId('theme-toggle').click();
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-theme-choice', 'system');
  expect(await background(page)).toBe(dark);
  await page.keyboard.press('t');
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-theme-choice', 'light');
  expect(await background(page)).toBe(light);
});

test('keyboard shortcuts come from one table: buttons name their keys, "?" lists them, keys act', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  const copy = page.getByTestId('copy-link');
  await expect(copy).toHaveAttribute('aria-keyshortcuts', 'L');
  await expect(copy).toHaveAttribute('title', 'Copy the experiment link (L)');

  // "?" opens the list: every shortcut of the table with its key and label; Escape closes it.
  await page.keyboard.press('Shift+?');
  const help = page.getByTestId('shortcut-help');
  await expect(help).toBeVisible();
  await expect(help.getByTestId('shortcut-row')).toHaveCount(SHORTCUTS.length);
  for (const s of SHORTCUTS) await expect(help.locator(`[data-testid="shortcut-row"][data-id="${s.id}"]`)).toContainText(`${s.aria}${s.label}`);
  await page.keyboard.press('Escape');
  await expect(help).toBeHidden();

  // Views: "]" next, "[" previous.
  await page.keyboard.press(']');
  await expect(page.getByTestId('tab-coactivation')).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('[');
  await expect(page.getByTestId('tab-overview')).toHaveAttribute('aria-selected', 'true');
  // L copies the link; F switches the figure layout.
  await page.keyboard.press('l');
  await expect(page.getByTestId('copy-note')).toHaveText('Copied.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await page.getByTestId('experiment-link').inputValue());
  await page.keyboard.press('f');
  await expect(page.getByTestId('figure-toggle')).toBeChecked();
  // Typing in a field is not a shortcut.
  await page.getByTestId('url-input').fill('');
  await page.getByTestId('url-input').press('f');
  await expect(page.getByTestId('figure-toggle')).toBeChecked();
  await expect(page.getByTestId('url-input')).toHaveValue('f');
  // On the training view the Run button carries its key too.
  await page.getByTestId('tab-training').click();
  await expect(page.getByTestId('run')).toHaveAttribute('aria-keyshortcuts', 'R');
  await expect(page.getByTestId('run')).toHaveAttribute('title', /^Run: .* \(R\)$/);
});
