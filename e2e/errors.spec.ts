import { expect, test } from './fixtures';

test('a trace set that does not exist shows a clear error and the page keeps working', async ({ page }) => {
  await page.goto('/#trace=/traces/does-not-exist');
  const error = page.getByTestId('load-error');
  await expect(error).toBeVisible();
  await expect(page.getByTestId('load-error-message')).toContainText('/traces/does-not-exist/manifest.json');
  await expect(page.getByTestId('load-error-message')).toContainText('404');
  await expect(page.getByTestId('trace-summary')).toHaveCount(0);
  await expect(page.getByTestId('webgpu-page')).not.toHaveAttribute('data-state', 'pending');

  // Still alive: pointing the hash at the demo loads it without a reload.
  await page.evaluate(() => (location.hash = '#trace=/traces/demo'));
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await expect(error).toHaveCount(0);
});

test('a javascript: trace URL is refused with a message, as text', async ({ page }) => {
  await page.goto('/#trace=' + encodeURIComponent('javascript:alert(1)//<img src=x onerror=alert(2)>'));
  const error = page.getByTestId('load-error');
  await expect(error).toBeVisible();
  await expect(page.getByTestId('load-error-message')).toContainText('"javascript:" URLs are not allowed');
  // The hostile text is shown literally, never parsed as HTML.
  await expect(error).toContainText('<img src=x onerror=alert(2)>');
  await expect(error.locator('img')).toHaveCount(0);
});
