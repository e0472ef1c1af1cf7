import { expect, test } from './fixtures';

test.describe.configure({ timeout: 300_000 });

const pct = async (page: import('@playwright/test').Page, name: string, step = 1) =>
  Number((await page.locator(`[data-testid="result-row"][data-name="${name}"] [data-metric="recallAtK@${step}"]`).innerText()).replace('%', ''));

// The next-tokens task from the form: a model that predicts only next layers keeps Run disabled with the reason;
// the sequence model trains on the demo set and is shown against the baselines, per token ahead.
test('trains the sequence model in the next-tokens task, chosen in the form, against the baselines', async ({ page }) => {
  await page.goto('/#panel=training&hidden=16');
  await expect(page.getByTestId('run')).toBeEnabled();
  await page.getByTestId('field-task').selectOption('tokens');
  await expect(page.getByTestId('model-task-problem')).toContainText('predicts only the next-layers task');
  await expect(page.getByTestId('run')).toBeDisabled();
  await page.getByTestId('field-model').selectOption('sequence');
  await expect(page.getByTestId('model-task-problem')).toHaveCount(0);
  await expect(page).toHaveURL(/task=tokens/);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('results-step').first()).toContainText('token t+1');
  for (const name of ['sequence', 'frequency', 'markov', 'temporal'])
    await expect(page.locator(`[data-testid="result-row"][data-name="${name}"]`)).toHaveCount(1);
  // The gate predicts layers of the same token: no row in the next-tokens task.
  await expect(page.locator('[data-testid="result-row"][data-name="lookahead"]')).toHaveCount(0);
  expect(await pct(page, 'sequence')).toBeGreaterThan(await pct(page, 'frequency'));
});

// The same model in prefill, from a link: the task keys replay, and the results are the prefill task's.
test('a link with task=tokens&vis=prefill replays the prefill task', async ({ page }) => {
  await page.goto('/#panel=training&model=sequence&hidden=16&task=tokens&vis=prefill&hor=1');
  await expect(page.getByTestId('field-vis')).toHaveValue('prefill');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('results-step')).toHaveCount(1);
  expect(await pct(page, 'sequence')).toBeGreaterThan(await pct(page, 'frequency'));
});
