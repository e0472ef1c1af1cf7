import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Download } from '@playwright/test';
import { unzipSync } from 'fflate';
import { expect, test } from './fixtures';

test.describe.configure({ timeout: 300_000 });

// After a run, the results table gives the model's size and inference time per token, a line sets one layer's
// prediction against the traced model's layer time, and Export model downloads what PyTorch loads.
test('the trained model reports its cost beside its results and exports the files collector/speclab_collect/predictor.py checks', async ({ page }) => {
  await page.goto('/#panel=training&model=sequence&hidden=16');
  await expect(page.getByTestId('run')).toBeEnabled();
  await expect(page.getByTestId('export-model')).toHaveCount(0);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });

  const row = page.locator('[data-testid="result-row"][data-name="sequence"]');
  await expect(row.locator('[data-metric="parameters"]')).toHaveText(/^[\d,]+$/);
  await expect(row.locator('[data-metric="bytes"]')).toHaveText(/KiB|MiB/);
  await expect(row.locator('[data-metric="msPerToken"]')).toHaveText(/^[\d.]+ ms CPU$/);
  // Baselines have no cost of their own to report.
  await expect(page.locator('[data-testid="result-row"][data-name="markov"] td').last()).toHaveText('—');
  await expect(page.getByTestId('cost-sentence')).toContainText('on cpu (TypeScript engine)');
  await expect(page.getByTestId('cost-sentence')).toContainText('A speclab-demo/mixtral-tiny-bytes layer takes at least');

  const [d]: [Download, void] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-model').click()]);
  expect(d.suggestedFilename()).toBe('speclab-sequence.zip');
  const files = unzipSync(readFileSync((await d.path())!));
  expect(Object.keys(files).sort()).toEqual(['sequence.cases.json', 'sequence.json', 'sequence.safetensors']);
  const description = JSON.parse(new TextDecoder().decode(files['sequence.json']));
  expect(description).toMatchObject({ format: 'speclab-predictor', model: 'sequence', trainedOn: { model: 'speclab-demo/mixtral-tiny-bytes', numLayers: 6 } });
  expect((await row.locator('[data-metric="parameters"]').innerText()).replace(/,/g, '')).toBe(String(description.parameters));
  const dir = mkdtempSync(join(tmpdir(), 'speclab-e2e-export-'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const check = JSON.parse(execFileSync('.venv/bin/python', ['-m', 'speclab_collect.predictor', 'check', join(dir, 'sequence.json')], { encoding: 'utf8' }));
  expect(check.sameTopK).toBe(true);
  expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
});
