import { expect, test } from './fixtures';

test.describe.configure({ timeout: 300_000 });

// The demo set records the lookahead gate (lookahead_logits, 2 layers ahead): the notebook scores it as a baseline
// and draws its recall by distance beside the learned model.
test('the notebook shows the lookahead gate and its curve by distance beside the sequence model on the demo set', async ({ page }) => {
  await page.goto('/#panel=training&model=sequence&hidden=16&hor=1');
  await expect(page.getByTestId('run')).toBeEnabled();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });

  const row = page.locator('[data-testid="result-row"][data-name="lookahead"]');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('baseline');
  const pct = async (name: string) =>
    Number((await page.locator(`[data-testid="result-row"][data-name="${name}"] [data-metric="recallAtK@1"]`).innerText()).replace('%', ''));
  expect(await pct('lookahead')).toBeGreaterThan((await pct('frequency')) + 10);

  // The chart: the gate over its 2 layers (past the task's horizon of 1), the sequence model and the best other baseline.
  const chart = page.getByTestId('lookahead-chart');
  await expect(chart).toBeVisible();
  await expect(page.getByTestId('lookahead-heading')).toContainText('Recall@k by distance');
  const series = chart.getByTestId('lookahead-chart-series');
  await expect(series).toHaveCount(3);
  await expect(series.nth(0)).toHaveAttribute('data-name', 'lookahead gate');
  await expect(series.nth(0).locator('circle')).toHaveCount(2);
  await expect(series.nth(1)).toHaveAttribute('data-name', /^Sequence/);
  await expect(series.nth(1).locator('circle')).toHaveCount(1);
  await expect(series.nth(2)).toHaveAttribute('data-name', /\(best other baseline\)$/);
  await expect(chart).toContainText('layers ahead');
  await expect(chart).toContainText('l+2');
  // For the README: the chart as the notebook draws it.
  await chart.screenshot({ path: new URL('../docs/screenshots/lookahead.png', import.meta.url).pathname, animations: 'disabled' });
});
