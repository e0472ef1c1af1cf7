// Screenshots of every view at 1280 and 1920 px, light and dark, on the demo set and on the shared DeepSeek-V2-Lite
// set (docs/screenshots/views/, shown in the README). Each set loads once; width and colour scheme change in place.
import { mkdirSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { PANELS, type Panel } from '../src/core/experiment/spec';
import { expect, REAL_TRACES, test } from './fixtures';

const OUT = new URL('../docs/screenshots/views/', import.meta.url).pathname;
const DEEPSEEK = `${REAL_TRACES}deepseek-v2-lite-chat/puffin-1-100`;
const WIDTHS = [1280, 1920] as const;
const SCHEMES = ['light', 'dark'] as const;

/** What each view has drawn once it is ready to be photographed. */
const READY: Record<Panel, string> = {
  overview: 'utilisation-chart',
  coactivation: 'coactivation-heatmap',
  transitions: 'transition-heatmap',
  reuse: 'reuse-chart',
  tokens: 'token-row',
  training: 'training-panel',
};

test.describe.configure({ timeout: 240_000 });

async function shootAll(page: Page, set: string): Promise<string[]> {
  mkdirSync(OUT, { recursive: true });
  const written: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width === 1280 ? 800 : 1080 });
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      // The page follows the system's scheme (no theme chosen in this browser).
      const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
      expect(bg, `${scheme} background`).toBe(scheme === 'dark' ? '#14171b' : '#fafafa');
      for (const view of PANELS) {
        await page.getByTestId(`tab-${view}`).click();
        await expect(page.getByTestId(`tab-${view}`)).toHaveAttribute('aria-selected', 'true');
        await expect(page.getByTestId(READY[view]).first()).toBeVisible();
        await page.mouse.move(0, 0);
        const name = `${set}-${view}-${width}-${scheme}`;
        await page.screenshot({ path: `${OUT}${name}.png`, fullPage: true, animations: 'disabled' });
        written.push(name);
      }
    }
  }
  return written;
}

test('every view of the demo set, at 1280 and 1920 px, light and dark', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  const names = await shootAll(page, 'demo');
  expect(names).toHaveLength(PANELS.length * WIDTHS.length * SCHEMES.length);
});

test('every view of the shared DeepSeek-V2-Lite set (puffin 1-100), at 1280 and 1920 px, light and dark', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await page.getByTestId('folder-input').setInputFiles(DEEPSEEK);
  await expect(page.getByTestId('summary-experts')).toHaveText('64', { timeout: 120_000 });
  await expect(page.getByTestId('trace-url')).toHaveText('local:puffin-1-100');
  await expect(page.getByTestId('summary-sequences')).toHaveText('100');
  // The token view carries the hook CSVs' token text: the first prompt starts with the begin-of-sentence token.
  await page.getByTestId('tab-tokens').click();
  await expect(page.locator('[data-testid="token-row"][data-row="0"]').getByTestId('token-text')).toContainText('begin');
  const names = await shootAll(page, 'deepseek');
  expect(names).toHaveLength(PANELS.length * WIDTHS.length * SCHEMES.length);
});
