import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { decodeLinkHash } from '../src/core/experiment/compactLink';
import { expect, screenshot, test } from './fixtures';

/** A tiny model on the CPU backend: one epoch of the demo set trains in seconds. */
const TINY = 'panel=training&hidden=16&emb=8&epochs=1&batch=64&lr=0.003&backend=cpu';

async function runAndWait(page: Page, runs: number) {
  await expect(page.getByTestId('run')).toBeEnabled();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 180_000 });
  await expect(page.getByTestId('run-row')).toHaveCount(runs);
}

/** The comparison table's cells of one run: metric@step → value (fraction). */
async function cells(page: Page, id: string): Promise<Record<string, { value: number; delta: number | null }>> {
  return page.locator(`[data-testid="comparison-row"][data-id="${id}"] td[data-metric]`).evaluateAll((tds) =>
    Object.fromEntries(
      tds.map((td) => {
        const e = td as HTMLElement;
        return [e.dataset.metric!, { value: Number(e.dataset.value), delta: e.dataset.delta === '' ? null : Number(e.dataset.delta) }];
      }),
    ),
  );
}

test.describe.configure({ timeout: 360_000 });

test('runs are kept, overlaid, compared with a pinned run, renamed, annotated and deleted; a link plus a run file reproduce them elsewhere', async ({
  page,
  browser,
}) => {
  await page.goto(`/#${TINY}`);
  await expect(page.getByTestId('runs-empty')).toBeVisible();
  await runAndWait(page, 1);

  // A second run with another seed, started with the R shortcut.
  await page.getByTestId('field-seed').fill('1');
  await page.getByTestId('training-panel').locator('h2').click(); // focus out of the field: shortcuts are off while typing
  await page.keyboard.press('r');
  await expect(page.getByTestId('training-status')).not.toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 180_000 });
  await expect(page.getByTestId('run-row')).toHaveCount(2);
  const ids = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id!));

  // Both are drawn: a curve each, the band between them; smoothing is a slider.
  await expect(page.getByTestId('run-overlay')).toHaveAttribute('data-runs', '2');
  await expect(page.getByTestId('run-curve')).toHaveCount(2);
  await expect(page.getByTestId('run-band')).toHaveCount(1);
  await page.getByTestId('overlay-smoothing').fill('0.3');
  await expect(page.getByTestId('overlay-smoothing-value')).toHaveText('0.30');

  // Pin the first: the second's differences are its values minus the first's, and the changed setting is named.
  await page.getByTestId('run-pin').first().check();
  const base = await cells(page, ids[0]);
  const other = await cells(page, ids[1]);
  expect(Object.keys(base).length).toBeGreaterThanOrEqual(5);
  for (const [k, c] of Object.entries(other)) expect(c.delta).toBeCloseTo(c.value - base[k].value, 10);
  for (const c of Object.values(base)) expect(c.delta).toBe(0);
  await expect(page.locator(`[data-testid="comparison-row"][data-id="${ids[1]}"] [data-testid="comparison-changed"]`)).toHaveText('seed: 0 → 1');
  // The table's recall@k at step 1 is the list's recall (mean over steps) only when H=1; here they agree on the run order at least.
  const listRecall = await page.getByTestId('run-recall').evaluateAll((tds) => tds.map((t) => Number((t as HTMLElement).dataset.value)));
  const steps = Object.keys(base).filter((k) => k.startsWith('recallAtK@')).length;
  const meanOf = (c: typeof base) =>
    Object.entries(c)
      .filter(([k]) => k.startsWith('recallAtK@'))
      .reduce((s, [, v]) => s + v.value, 0) / steps;
  expect(meanOf(base)).toBeCloseTo(listRecall[0], 10);
  expect(meanOf(other)).toBeCloseTo(listRecall[1], 10);

  await page.getByTestId('runs-section').scrollIntoViewIfNeeded();
  await screenshot(page, 'runs');

  // Rename and annotate; both survive a reload (IndexedDB).
  await page.getByTestId('run-name').nth(1).fill('seed one');
  await page.getByTestId('run-name').nth(1).press('Enter');
  await page.getByTestId('run-note').nth(1).fill('same settings, other seed');
  await page.getByTestId('run-name').first().click();
  await page.reload();
  await expect(page.getByTestId('run-row')).toHaveCount(2);
  await expect(page.getByTestId('run-name').nth(1)).toHaveValue('seed one');
  await expect(page.getByTestId('run-note').nth(1)).toHaveValue('same settings, other seed');

  // Export both runs as a file.
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-export').click()]);
  const runFile = await file.path();
  const saved = JSON.parse(readFileSync(runFile, 'utf8')) as { format: string; runs: { id: string; spec: { seed: number; trace: string } }[] };
  expect(saved.format).toBe('speclab-runs');
  expect(saved.runs.map((r) => r.spec.seed)).toEqual([0, 1]);

  // Elsewhere (a fresh browser profile: no kept runs): the copied link and the file reproduce the comparison.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByTestId('copy-link').click();
  await expect(page.getByTestId('copy-note')).toHaveText('Copied.');
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toMatch(/#v=3&z=[\w-]+$/);
  expect(decodeLinkHash(new URL(link).hash).spec.seed).toBe(1);
  const elsewhere = await browser.newContext();
  const fresh = await elsewhere.newPage();
  await fresh.goto(link);
  await expect(fresh.getByTestId('field-seed')).toHaveValue('1');
  await expect(fresh.getByTestId('runs-empty')).toBeVisible();
  await fresh.getByTestId('runs-import-input').setInputFiles(runFile);
  await expect(fresh.getByTestId('runs-note')).toHaveText(/Imported 2 run\(s\)/);
  await fresh.getByTestId('run-pin').first().check();
  expect(await cells(fresh, ids[1])).toEqual(other);
  // Rerunning the linked experiment gives the imported run's numbers.
  await runAndWait(fresh, 3);
  const rerun = await fresh.getByTestId('run-row').nth(2).getAttribute('data-id');
  await fresh.getByTestId('run-select').first().uncheck();
  await fresh.getByTestId('run-pin').nth(1).check();
  const again = await cells(fresh, rerun!);
  for (const [k, c] of Object.entries(again)) {
    expect(c.value, k).toBe(other[k].value);
    expect(c.delta, k).toBe(0);
  }
  await expect(fresh.locator(`[data-testid="comparison-row"][data-id="${rerun}"] [data-testid="comparison-changed"]`)).toHaveText('same settings');
  // A damaged file is refused with what to do, and nothing changes.
  await fresh
    .getByTestId('runs-import-input')
    .setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"speclab-runs","version":1,"runs":[{"id":"x"}]}') });
  await expect(fresh.getByTestId('runs-note')).toHaveAttribute('data-kind', 'error');
  await expect(fresh.getByTestId('runs-note')).toContainText('broken.json: runs.0.name');
  await expect(fresh.getByTestId('runs-note')).toContainText('Nothing was imported');
  await expect(fresh.getByTestId('run-row')).toHaveCount(3);
  await elsewhere.close();

  // Open puts a kept run's experiment back (seed included), as its link would.
  await expect(page.getByTestId('field-seed')).toHaveValue('1');
  await page.getByTestId('run-open').first().click();
  await expect(page.getByTestId('field-seed')).toHaveValue('0');
  await expect(page).toHaveURL(/&seed=0&/);

  // Delete asks once more, then the run is gone, also after a reload.
  await page.getByTestId('run-delete').first().click();
  await expect(page.getByTestId('run-delete').first()).toHaveText('Really delete?');
  await page.getByTestId('run-delete').first().click();
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await page.reload();
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await expect(page.getByTestId('run-name')).toHaveValue('seed one');
});

/** The results table's recall@k at step 1 of one row, as shown (e.g. "59.9%"), and its label. */
async function modelRow(page: Page, kind: string) {
  const row = page.locator(`[data-testid="result-row"][data-name="${kind}"]`);
  return { row, recall: await row.locator('td[data-metric="recallAtK@1"]').innerText(), label: await row.locator('th').innerText() };
}

test('two models trained one after the other: Open on each kept run shows its own model and numbers; a run file from before results were keyed by model opens with its kinds', async ({
  page,
}) => {
  await page.goto(`/#${TINY}&model=interlayer`);
  await runAndWait(page, 1);
  const first = await modelRow(page, 'interlayer');
  await page.goto(`/#${TINY}&model=joint`);
  await expect(page.getByTestId('field-model')).toHaveValue('joint');
  await runAndWait(page, 2);
  const second = await modelRow(page, 'joint');
  await expect(page.locator('[data-testid="result-row"].learned')).toHaveCount(1);
  // The list's recall is each run's own model.
  const recalls = await page.getByTestId('run-recall').evaluateAll((tds) => tds.map((t) => (t as HTMLElement).dataset.value));
  expect(recalls.every((v) => v !== '')).toBe(true);
  expect(recalls[0]).not.toBe(recalls[1]);

  const openRun = async (i: number, kind: string, shown: { recall: string; label: string }, other: string) => {
    await page.getByTestId('run-open').nth(i).click();
    await expect(page.getByTestId('field-model')).toHaveValue(kind);
    const row = page.locator(`[data-testid="result-row"][data-name="${kind}"]`);
    await expect(row.locator('td[data-metric="recallAtK@1"]')).toHaveText(shown.recall);
    await expect(row.locator('th')).toHaveText(shown.label);
    await expect(page.locator(`[data-testid="result-row"][data-name="${other}"]`)).toHaveCount(0);
    await expect(page.getByTestId('results-stale')).toHaveCount(0);
  };
  await openRun(0, 'interlayer', first, 'joint');
  await openRun(1, 'joint', second, 'interlayer');
  await openRun(0, 'interlayer', first, 'joint');

  // A file exported before this change: the joint run's result was kept under "interlayer".
  await page.getByTestId('runs-import-input').setInputFiles('src/core/runs/fixtures/runs-v1.json');
  await expect(page.getByTestId('runs-note')).toHaveText(/Imported 2 run\(s\)/);
  await expect(page.getByTestId('run-row')).toHaveCount(4);
  const imported = page.locator('[data-testid="run-row"][data-id="fixture-run-2"]');
  // The list shows the mean over the horizon steps (the file's joint model: 43.4% and 33.4%; InterLayer's: 59.9% and 49.9%).
  await expect(imported.getByTestId('run-recall')).toHaveText('38.4%');
  await expect(page.locator('[data-testid="run-row"][data-id="fixture-run-1"]').getByTestId('run-recall')).toHaveText('54.9%');
  await imported.getByTestId('run-open').click();
  await expect(page.getByTestId('field-model')).toHaveValue('joint');
  await expect(page.locator('[data-testid="result-row"][data-name="joint"] td[data-metric="recallAtK@1"]')).toHaveText('43.4%');
  await expect(page.locator('[data-testid="result-row"][data-name="interlayer"]')).toHaveCount(0);
});
