import { demoManifest, expect, screenshot, test } from './fixtures';

test('the demo: every exploration view draws its chart, and the view is kept in the URL', async ({ page }) => {
  const m = demoManifest();
  const L = m.numLayers;
  const E = m.numExperts;
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();

  // Overview: entropy bars per layer and the layers × experts utilisation heatmap, painted.
  await expect(page.getByTestId('entropy-chart').getByTestId('entropy-bar')).toHaveCount(L);
  const util = page.getByTestId('utilisation-heatmap');
  await expect(util).toHaveAttribute('data-rows', String(L));
  await expect(util).toHaveAttribute('data-cols', String(E));
  expect(await paintedColours(util)).toBeGreaterThan(3);
  await screenshot(page, 'overview');

  // Co-activation: an E × E heatmap for the chosen layer.
  await page.getByTestId('tab-coactivation').click();
  const co = page.getByTestId('coactivation-heatmap');
  await expect(co).toHaveAttribute('data-rows', String(E));
  await expect(co).toHaveAttribute('data-cols', String(E));
  const before = Number(await co.getAttribute('data-max'));
  await page.getByTestId('coactivation-layer').selectOption(String(L - 1));
  await expect(page).toHaveURL(new RegExp(`[#&]panel=coactivation&layer=${L - 1}$`));
  expect(await paintedColours(co)).toBeGreaterThan(3);
  expect(Number(await co.getAttribute('data-max'))).toBeGreaterThan(0);
  expect(before).toBeGreaterThan(0);
  await screenshot(page, 'coactivation');

  // Transitions l → l+1: the selector offers L-1 pairs; the layer chosen above (L-1) is clamped to the last pair.
  await page.getByTestId('tab-transitions').click();
  const tr = page.getByTestId('transition-heatmap');
  await expect(tr).toHaveAttribute('data-cols', String(E));
  await expect(page.getByTestId('transition-layer').locator('option')).toHaveCount(L - 1);
  await expect(page.getByTestId('transition-layer')).toHaveValue(String(L - 2));
  await page.getByTestId('transition-layer').selectOption('0');
  expect(await paintedColours(tr)).toBeGreaterThan(3);
  await screenshot(page, 'transitions');

  // Temporal reuse: first-choice and any-overlap lines, with their uniform-chance references.
  await page.getByTestId('tab-reuse').click();
  const reuse = page.getByTestId('reuse-chart');
  await expect(reuse.getByTestId('reuse-chart-series')).toHaveCount(4);
  await expect(reuse.locator('[data-name="same first choice"] circle')).toHaveCount(L);
  await screenshot(page, 'reuse');

  // Dataset filter (the demo has one dataset per domain): the counts follow, and the choice is in the URL.
  await page.getByTestId('tab-overview').click();
  const tokens = async () => Number((await page.getByTestId('summary-tokens').textContent())!.replace(/\D/g, ''));
  const all = await tokens();
  const codeOnly = page.locator('input[data-testid="dataset-option"][value="python"]');
  await codeOnly.check();
  await expect(page).toHaveURL(/&ds=python&/);
  await expect.poll(tokens).toBeLessThan(all);
  await codeOnly.uncheck();
  await expect.poll(tokens).toBe(all);
});

test('a 128-expert trace set draws at full size', async ({ page }) => {
  // Synthetic routing of a Switch-like shape (6 layers, 128 experts, top-1) imported as hook CSV.
  const rows = ['Layer ID,Batch Number,Token,Activated Expert IDs'];
  for (let l = 1; l <= 6; l++) for (let t = 0; t < 128; t++) rows.push(`${l},0,t${t},"[${(t * 5 + l) % 128}]"`);
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await page.getByTestId('file-input').setInputFiles({ name: 'switch_128.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
  await expect(page.getByTestId('summary-experts')).toHaveText('128');
  await expect(page.getByTestId('utilisation-heatmap')).toHaveAttribute('data-cols', '128');
  await page.getByTestId('tab-transitions').click();
  await expect(page.getByTestId('transition-heatmap')).toHaveAttribute('data-rows', '128');
  await page.getByTestId('tab-coactivation').click();
  await expect(page.getByTestId('coactivation-panel')).toContainText('Top-1 routing');
});

/** Distinct colours on a heatmap's canvas: more than one means it was painted with data. */
async function paintedColours(figure: import('@playwright/test').Locator): Promise<number> {
  return figure.locator('canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}
