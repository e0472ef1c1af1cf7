import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, screenshot, test } from './fixtures';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MODEL = join(ROOT, 'collector/speclab_collect/demo_model');
const TOKEN = 'e2e-collect-token-0123456789';

/** The real job server (the .venv's Python) with the bundled demo model, allowing the page's own origin. */
async function startServer(work: string, origin: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(
    join(ROOT, '.venv/bin/python'),
    [
      '-m',
      'speclab_collect',
      'serve',
      '--port',
      '0',
      '--out-root',
      join(work, 'runs'),
      '--token',
      TOKEN,
      '--model-root',
      MODEL,
      '--data-root',
      work,
      '--allow-origin',
      origin,
    ],
    // A pause after each batch keeps the job running for a few seconds, long enough to show its progress.
    { cwd: ROOT, env: { ...process.env, SPECLAB_COLLECT_TEST_DELAY: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`speclab-collect serve exited (${code}): ${err}`)));
  });
  return { proc, url };
}

test('Collect: connect to a real collector, submit a job, follow its progress, open the finished trace set', async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  const work = mkdtempSync(join(tmpdir(), 'speclab-collect-e2e-'));
  copyFileSync(join(MODEL, 'eval-python.jsonl'), join(work, 'python.jsonl'));
  const { proc, url } = await startServer(work, new URL(baseURL!).origin);
  try {
    await drive(page, url, work);
  } finally {
    proc.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
});

async function drive(page: Page, url: string, work: string) {
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await page.getByTestId('collect-panel').locator('summary').click();

  // A wrong token is refused with what to do; the printed URL connects.
  await page.getByTestId('collect-url').fill(url.replace(TOKEN, 'wrong-token-0123'));
  await page.getByTestId('collect-connect').click();
  await expect(page.getByTestId('collect-connect-error')).toContainText('missing or wrong token');
  await page.getByTestId('collect-url').fill(url);
  await page.getByTestId('collect-connect').click();
  await expect(page.getByTestId('collect-status')).toContainText(`Connected to ${new URL(url).origin}`);
  await expect(page.getByTestId('collect-no-jobs')).toBeVisible();

  await page.getByTestId('collect-name').fill('e2e-job');
  await page.getByTestId('collect-model').fill(MODEL);
  await page.getByTestId('collect-tokenizer').fill('bytes');
  await page.getByTestId('collect-datasets').fill(`python=${join(work, 'python.jsonl')}:900`);
  await page.getByTestId('collect-batch-size').fill('1');
  await page.getByTestId('collect-dtype').selectOption('fp32');
  await page.getByTestId('collect-submit').click();

  const row = page.locator('[data-testid="collect-job"][data-name="e2e-job"]');
  await expect(row).toBeVisible();
  // Live progress from the event stream: tokens, rate and ETA while it runs.
  await expect(row.getByTestId('collect-job-progress')).toContainText(/\/ 900 tokens \(\d+%\) · [\d,]+ tokens\/s · ETA/, { timeout: 60_000 });
  await expect(row).toHaveAttribute('data-status', 'done', { timeout: 60_000 });

  // Finished: its trace set opened in the notebook, from the files the server serves.
  await expect(page.getByTestId('trace-url')).toHaveText('local:e2e-job');
  await expect(page.getByTestId('summary-tokens')).toHaveText('900');
  await expect(page.getByTestId('summary-datasets')).toHaveText('python');
  await expect(page.getByTestId('summary-layers')).toHaveText('6');
  // The token is in neither the page's URL nor the experiment link.
  expect(page.url()).not.toContain(TOKEN);
  expect(await page.getByTestId('experiment-link').inputValue()).not.toContain(TOKEN);
  await screenshot(page, 'collect');
}
