// The page on the shared Mixtral folder (routing log + generated text): the log opens, the other file is listed
// with why, and the Overview shows the per-layer load balance equal to the Node statistics.
import { readdirSync, readFileSync } from 'node:fs';
import { computeStats } from '../src/core/analysis/stats';
import { importFiles } from '../src/core/trace/importers';
import { expect, REAL_TRACES, test } from './fixtures';

const FOLDER = `${REAL_TRACES}mixtral-8x7b-instruct-fp8/`;

test('opens the shared Mixtral folder by the folder picker and shows its load balance', async ({ page }) => {
  expect(readdirSync(FOLDER).sort()).toEqual(['gsm8k_2_outputs.jsonl', 'gsm8k_2_routing.jsonl']);
  const s = computeStats(importFiles([{ name: 'g.jsonl', data: readFileSync(FOLDER + 'gsm8k_2_routing.jsonl', 'utf8') }]).set);
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await page.getByTestId('folder-input').setInputFiles(FOLDER);
  await expect(page.getByTestId('summary-layers')).toHaveText('32');
  await expect(page.getByTestId('summary-tokens')).toHaveText(String(s.tokens));
  await expect(page.getByTestId('skipped-note')).toContainText('gsm8k_2_outputs.jsonl (JSON without routing fields');
  const lb = s.loadBalance;
  const worst = lb.maxShare.indexOf(Math.max(...lb.maxShare));
  await expect(page.getByTestId('load-balance-summary')).toContainText(`${(lb.maxShare[worst] * 100).toFixed(1)}% of layer ${worst}'s selections`);
  const rows = page.getByTestId('load-balance-table').locator('tbody tr');
  await expect(rows).toHaveCount(32);
  await expect(rows.nth(3).locator('td')).toHaveText([
    '3',
    `${(lb.maxShare[3] * 100).toFixed(1)}%`,
    `${(lb.activeFraction[3] * 100).toFixed(1)}%`,
    lb.cv[3].toFixed(2),
    lb.normalizedEntropy[3].toFixed(3),
  ]);
});
