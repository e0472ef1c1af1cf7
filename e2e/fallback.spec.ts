import { existsSync } from 'node:fs';
import { expect, test } from './fixtures';

// This file's browser starts without --enable-unsafe-webgpu: on a machine without a GPU there is then no WebGPU
// adapter, as for many users, and training must fall back and say so.
test.use({
  launchOptions: {
    executablePath: existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  },
});

test.describe.configure({ timeout: 240_000 });

test('without WebGPU, training falls back to another backend and the page says why', async ({ page }) => {
  await page.goto('/#panel=training&hidden=16&emb=8&epochs=1&batch=64&lr=0.003');
  await expect(page.getByTestId('webgpu-worker')).toHaveAttribute('data-state', 'false');
  await expect(page.getByTestId('run')).toBeEnabled();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 200_000 });
  const line = page.getByTestId('training-backend');
  await expect(line).toHaveAttribute('data-backend', /^(webgl|wasm|cpu)$/);
  const used = await line.getAttribute('data-backend');
  await expect(page.getByTestId('backend-fallback').first()).toHaveText(new RegExp(`^WebGPU unavailable: .+ — using ${used}$`));
  await expect(page.locator('[data-testid="result-row"][data-name="interlayer"]')).toHaveCount(1);
});
