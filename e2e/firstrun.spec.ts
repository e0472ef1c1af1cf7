import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from './fixtures';

/**
 * A fresh `npm start`: a dev server with an empty pre-bundle cache. Vite must know every dependency of the page
 * and its workers (tfjs is imported by the training worker only) before the first page load; a dependency it
 * finds later makes it re-bundle and reload the page, which threw away the first Run.
 */
const PORT = 5179;
const TINY = 'panel=training&hidden=16&emb=8&epochs=1&batch=64&lr=0.003&backend=cpu';

let server: ChildProcess | null = null;
let cacheDir = '';
let log = '';

test.describe.configure({ timeout: 300_000 });

test.beforeAll(async () => {
  cacheDir = mkdtempSync(path.join(tmpdir(), 'speclab-vite-'));
  server = spawn('npx', ['vite', '--port', String(PORT), '--strictPort'], {
    env: { ...process.env, SPECLAB_VITE_CACHE: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`http://localhost:${PORT}/`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`the fresh dev server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 500));
  }
});

test.afterAll(() => {
  if (server?.pid) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

test('the first Run on a fresh dev server finishes without a page reload', async ({ page }) => {
  let loads = 0;
  page.on('load', () => loads++);
  await page.goto(`http://localhost:${PORT}/#${TINY}`);
  await expect(page.getByTestId('run')).toBeEnabled({ timeout: 120_000 });
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.locator('[data-testid="result-row"][data-name="interlayer"]')).toHaveCount(1);
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  expect(loads, `page loads (Vite log:\n${log})`).toBe(1);
  expect(log).not.toMatch(/optimized dependencies changed|new dependencies optimized|reloading/i);
});
