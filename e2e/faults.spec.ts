// GPU and worker faults: a WebGPU device lost under training, a crashed training worker, a crashed trace worker.
// Each is reported in the page, what was done so far stays, and the page carries on (a new run, a new load).
// Faults are injected through window.speclab.injectFault, which exists only where this browser's localStorage
// has speclab.faultInjection = "1" (src/state/faults.ts); no link can turn it on.
import type { Page } from '@playwright/test';
import { demoManifest, expect, test } from './fixtures';

test.describe.configure({ timeout: 360_000 });

type Fault = 'gpu-device' | 'training-worker' | 'trace-worker';

async function inject(page: Page, kind: Fault): Promise<boolean> {
  return page.evaluate((k) => (window as unknown as { speclab: { injectFault(k: string): Promise<boolean> } }).speclab.injectFault(k), kind);
}

const enableFaults = (page: Page) => page.addInitScript(() => localStorage.setItem('speclab.faultInjection', '1'));

/** Starts a run and waits until its first epoch is on the chart, still running. */
async function runUntilFirstEpoch(page: Page): Promise<void> {
  await expect(page.getByTestId('run')).toBeEnabled();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('accuracy-chart')).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'running');
}

test('a WebGPU device lost during training stops the run cleanly, keeps its epochs, and a new run trains again', async ({ page }) => {
  await enableFaults(page);
  await page.goto('/#panel=training&hidden=16&emb=8&epochs=4&batch=64&lr=0.003&backend=webgpu');
  await runUntilFirstEpoch(page);
  await expect(page.getByTestId('training-backend')).toHaveAttribute('data-backend', 'webgpu');
  expect(await inject(page, 'gpu-device')).toBe(true);

  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'error', { timeout: 60_000 });
  await expect(page.getByTestId('training-error')).toContainText('the WebGPU device was lost: ');
  await expect(page.getByTestId('training-error')).toContainText('the epochs done are kept');
  // The curves of the epochs done are still there; the baselines finished on their own worker.
  await expect(page.getByTestId('accuracy-chart')).toBeVisible();
  await expect(page.getByTestId('results-table').getByTestId('result-row').first()).toBeVisible();

  // The page carries on: a new run gets a new worker and a new device.
  await page.getByTestId('field-epochs').fill('1');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('training-backend')).toHaveAttribute('data-backend', 'webgpu');
  await expect(page.locator('[data-testid="result-row"][data-name="interlayer"]')).toHaveCount(1);
  await expect(page.getByTestId('training-error')).toHaveCount(0);
});

test('a crashed training worker is reported, its epochs kept, and the next run starts a new one', async ({ page }) => {
  await enableFaults(page);
  await page.goto('/#panel=training&hidden=16&emb=8&epochs=4&batch=16&lr=0.003&backend=cpu');
  await runUntilFirstEpoch(page);
  expect(await inject(page, 'training-worker')).toBe(true);
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'error', { timeout: 60_000 });
  await expect(page.getByTestId('training-error')).toContainText('the training worker failed');
  await expect(page.getByTestId('training-error')).toContainText('injected fault');
  await expect(page.getByTestId('accuracy-chart')).toBeVisible();

  await page.getByTestId('field-epochs').fill('1');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.locator('[data-testid="result-row"][data-name="interlayer"]')).toHaveCount(1);
});

test('a crashed trace worker is reported, the summary stays, and opening the set again restarts it', async ({ page }) => {
  // Off by default, and a link cannot turn it on.
  await page.goto('/#faultInjection=1');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  expect(await page.evaluate(() => 'injectFault' in (window as unknown as { speclab: object }).speclab)).toBe(false);

  const all = demoManifest()
    .shards.reduce((n, s) => n + s.tokens, 0)
    .toLocaleString('en-US');
  await enableFaults(page);
  await page.goto('/');
  await expect(page.getByTestId('summary-tokens')).toHaveText(all);
  expect(await inject(page, 'trace-worker')).toBe(true);
  await expect(page.getByTestId('analysis-error')).toContainText('the trace worker failed');
  await expect(page.getByTestId('analysis-error')).toContainText('open the trace set again to restart it');
  // What was shown stays.
  await expect(page.getByTestId('summary-tokens')).toHaveText(all);
  await expect(page.getByTestId('trace-url')).toHaveText('demo');

  // Opening the same set again loads it into a new worker; the analyses follow a filter change again.
  await page.getByTestId('url-input').fill('demo');
  await page.getByTestId('url-open').click();
  await expect(page.getByTestId('analysis-error')).toHaveCount(0);
  await page.locator('input[data-testid="dataset-option"][value="python"]').check();
  await expect(page.getByTestId('summary-tokens')).not.toHaveText(all);
});
