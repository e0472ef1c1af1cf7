import { demoManifest, expect, test } from './fixtures';

test('shows the demo trace set summary with the manifest numbers', async ({ page }) => {
  const m = demoManifest();
  const tokens = m.shards.reduce((n, s) => n + s.tokens, 0);

  await page.goto('/');
  const summary = page.getByTestId('trace-summary');
  await expect(summary).toBeVisible();
  await expect(page.getByTestId('loading')).toHaveCount(0);
  await expect(page.getByTestId('load-error')).toHaveCount(0);

  if (m.description) await expect(page.getByTestId('summary-description')).toHaveText(m.description);
  await expect(page.getByTestId('summary-model')).toContainText(m.model.name);
  await expect(page.getByTestId('summary-engine')).toHaveText(m.engine);
  await expect(page.getByTestId('summary-quantization')).toHaveText(m.quantization);
  const digits = async (id: string) => Number((await page.getByTestId(id).textContent())!.replace(/[^\d]/g, ''));
  expect(await digits('summary-tokens')).toBe(tokens);
  expect(await digits('summary-dropped')).toBe(m.droppedTokens);
  expect(await digits('summary-layers')).toBe(m.numLayers);
  expect(await digits('summary-experts')).toBe(m.numExperts);
  expect(await digits('summary-topk')).toBe(m.topK);
  expect(await digits('summary-sequences')).toBeGreaterThan(0);
  await expect(page.getByTestId('summary-datasets')).toHaveText(m.datasets.join(', '));

  // One bar per MoE layer, none above the uniform-routing line log2(E).
  const chart = page.getByTestId('entropy-chart');
  await expect(chart.getByTestId('entropy-bar')).toHaveCount(m.numLayers);
  const max = chart.getByTestId('entropy-max');
  await expect(max).toContainText(`${Math.log2(m.numExperts).toFixed(2)} bits`);
  const maxY = Number(await max.locator('line').getAttribute('y1'));
  const barTops = await chart.getByTestId('entropy-bar').evaluateAll((els) => els.map((e) => Number(e.getAttribute('y'))));
  for (const y of barTops) expect(y).toBeGreaterThanOrEqual(maxY - 1e-6);
  const heights = await chart.getByTestId('entropy-bar').evaluateAll((els) => els.map((e) => Number(e.getAttribute('height'))));
  expect(heights.some((h) => h > 0)).toBe(true);
});
