// Charts a researcher reads numbers from: utilisation against uniform use (sorted, zoomed), and a tooltip with the
// exact value at the cursor on every chart (entropy, heatmaps, line charts, the runs overlay, utilisation).
import type { Locator, Page } from '@playwright/test';
import { dirSource } from '../src/cli/fsTrace';
import { computeStats } from '../src/core/analysis/stats';
import { readTraceSet } from '../src/core/trace/read';
import { utilisationBars } from '../src/ui/charts/utilisation';
import { formatPct } from '../src/ui/format';
import { expect, test } from './fixtures';

const DEMO = new URL('../traces/demo/', import.meta.url).pathname;

/** Moves the mouse to a point of `el` given as fractions of its box. */
async function pointAt(page: Page, el: Locator, fx: number, fy: number): Promise<void> {
  await el.scrollIntoViewIfNeeded();
  const b = (await el.boundingBox())!;
  await page.mouse.move(b.x + b.width * fx, b.y + b.height * fy);
}

test('utilisation centred on uniform use: bars up and down from 1/E, sorted busiest first, zoomed by dragging and by buttons', async ({ page }) => {
  const demo = await readTraceSet(dirSource(DEMO));
  const stats = computeStats(demo);
  const E = demo.manifest.numExperts;
  await page.goto('/');
  const chart = page.getByTestId('utilisation-chart');
  await expect(chart.getByTestId('utilisation-bar')).toHaveCount(E);
  await expect(chart).toHaveAttribute('data-order', Array.from({ length: E }, (_, e) => e).join(','));
  // Over-used experts rise above the uniform line, under-used ones hang below it.
  const layer0 = utilisationBars(stats.utilisation[0], 'expert');
  for (const bar of layer0) await expect(chart.locator(`[data-expert="${bar.expert}"]`)).toHaveClass(bar.ratio >= 1 ? 'bar over' : 'bar under');

  await page.getByTestId('utilisation-order').selectOption('share');
  await expect(chart).toHaveAttribute(
    'data-order',
    utilisationBars(stats.utilisation[0], 'share')
      .map((b) => b.expert)
      .join(','),
  );
  // The layer selector is the shared one: layer 2's numbers, sorted.
  await page.getByTestId('utilisation-layer').selectOption('2');
  await expect(page).toHaveURL(/[#&]layer=2(&|$)/);
  const sorted2 = utilisationBars(stats.utilisation[2], 'share');
  await expect(chart).toHaveAttribute('data-order', sorted2.map((b) => b.expert).join(','));

  // Exact numbers at the cursor: the busiest expert's share and its factor over uniform.
  const busiest = chart.locator(`[data-expert="${sorted2[0].expert}"]`);
  await busiest.hover();
  const tip = page.getByTestId('utilisation-chart-tooltip');
  await expect(tip).toContainText(`expert ${sorted2[0].expert} at layer ${demo.manifest.moeLayerIds[2]}`);
  await expect(tip).toContainText(`${formatPct(sorted2[0].share, 3)} of the selections`);
  await expect(tip).toContainText(`${sorted2[0].ratio.toFixed(3)}× uniform`);

  // Drag across the first three bars: only they are shown, and the scale fits them.
  const svg = chart.locator('svg');
  const from = (await chart.locator(`[data-expert="${sorted2[0].expert}"]`).boundingBox())!;
  const to = (await chart.locator(`[data-expert="${sorted2[2].expert}"]`).boundingBox())!;
  const midY = (await svg.boundingBox())!.y + (await svg.boundingBox())!.height / 2;
  await page.mouse.move(from.x + from.width / 2, midY);
  await page.mouse.down();
  await page.mouse.move(to.x + to.width / 2, midY, { steps: 4 });
  await page.mouse.up();
  await expect(chart.getByTestId('utilisation-bar')).toHaveCount(3);
  await expect(chart).toHaveAttribute(
    'data-order',
    sorted2
      .slice(0, 3)
      .map((b) => b.expert)
      .join(','),
  );
  await expect(page.getByTestId('utilisation-range')).toContainText(`ranks 1–3 of ${E}`);
  await page.getByTestId('utilisation-zoom-reset').click();
  await expect(chart.getByTestId('utilisation-bar')).toHaveCount(E);
  await page.getByTestId('utilisation-zoom-in').click();
  await expect(chart.getByTestId('utilisation-bar')).toHaveCount(E / 2);
  await page.getByTestId('utilisation-zoom-out').click();
  await expect(chart.getByTestId('utilisation-bar')).toHaveCount(E);

  // A row of the utilisation heatmap selects its layer for this chart.
  const heat = page.getByTestId('utilisation-heatmap').locator('canvas');
  const hb = (await heat.boundingBox())!;
  await heat.click({ position: { x: hb.width / 2, y: (hb.height * 3.5) / demo.manifest.numLayers } });
  await expect(page.getByTestId('utilisation-layer')).toHaveValue('3');
  await expect(chart).toHaveAttribute(
    'data-order',
    utilisationBars(stats.utilisation[3], 'share')
      .map((b) => b.expert)
      .join(','),
  );
});

test('every chart shows the exact value at the cursor', async ({ page }) => {
  const demo = await readTraceSet(dirSource(DEMO));
  const stats = computeStats(demo);
  const { numLayers: L, numExperts: E, moeLayerIds } = demo.manifest;
  await page.goto('/');

  // Entropy: the bar of the last layer.
  const entropy = page.getByTestId('entropy-chart');
  const lastBar = entropy.getByTestId('entropy-bar').nth(L - 1);
  await lastBar.hover();
  const et = page.getByTestId('entropy-chart-tooltip');
  await expect(et).toContainText(`layer ${moeLayerIds[L - 1]}`);
  await expect(et).toContainText(`${stats.entropyBits[L - 1].toFixed(4)} bits`);
  await page.mouse.move(0, 0);
  await expect(et).toHaveCount(0);

  // Utilisation heatmap: the cell of layer row 1, expert column E-1.
  const util = page.getByTestId('utilisation-heatmap').locator('canvas');
  await pointAt(page, util, (E - 0.5) / E, 1.5 / L);
  const ut = page.getByTestId('utilisation-heatmap-tooltip');
  await expect(ut).toContainText(`layer ${moeLayerIds[1]}, expert ${E - 1}`);
  await expect(ut).toContainText(formatPct(stats.utilisation[1][E - 1]));

  // Co-activation and transitions heatmaps share the heatmap's tooltip.
  await page.getByTestId('tab-coactivation').click();
  await pointAt(page, page.getByTestId('coactivation-heatmap').locator('canvas'), 0.5 / E, 1.5 / E);
  await expect(page.getByTestId('coactivation-heatmap-tooltip')).toContainText('expert e 1, expert f 0');
  await page.getByTestId('tab-transitions').click();
  await pointAt(page, page.getByTestId('transition-heatmap').locator('canvas'), 0.5 / E, 0.5 / E);
  await expect(page.getByTestId('transition-heatmap-tooltip')).toBeVisible();

  // Reuse lines: every series at the layer nearest the cursor.
  await page.getByTestId('tab-reuse').click();
  const reuse = page.getByTestId('reuse-chart');
  await reuse.locator('[data-name="same first choice"] circle').nth(1).hover();
  const rt = page.getByTestId('reuse-chart-tooltip');
  await expect(rt).toContainText(`layer ${moeLayerIds[1]}`);
  await expect(rt).toContainText(`same first choice: ${formatPct(stats.reuseFirst[1], 2)}`);
  await expect(rt).toContainText(`any of top-${demo.manifest.topK} shared: ${formatPct(stats.reuseAny[1], 2)}`);

  // Runs overlay: kept runs from a file, each run's value at the epoch under the cursor.
  await page.getByTestId('tab-training').click();
  await page.getByTestId('runs-import-input').setInputFiles('src/core/runs/fixtures/runs-v1.json');
  await expect(page.getByTestId('runs-note')).toHaveText(/Imported 2 run\(s\)/);
  for (const box of await page.getByTestId('run-select').all()) await box.check();
  const overlay = page.getByTestId('run-overlay');
  await expect(overlay).toHaveAttribute('data-runs', '2');
  await overlay.locator('circle').first().hover();
  const ot = page.getByTestId('run-overlay-tooltip');
  await expect(ot).toContainText('epoch 1');
  await expect(ot).toContainText('Run 1: interlayer C3 H2 seed 1: 54.90%');
  await expect(ot).toContainText('Run 2: joint C3 H2 seed 2: 38.40%');
});
