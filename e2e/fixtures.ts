import { mkdirSync, readFileSync } from 'node:fs';
import { test as base, expect, type Page } from '@playwright/test';
import type { Manifest } from '../src/core/trace/types';

/** The bundled demo's manifest, read from disk: what the page must show. */
export function demoManifest(): Manifest {
  return JSON.parse(readFileSync(new URL('../traces/demo/manifest.json', import.meta.url), 'utf8')) as Manifest;
}

/**
 * Every test fails on an uncaught page error or a Content-Security-Policy violation
 * (a violation means the CSP and the app disagree, in the built app or in dev).
 */
export const test = base.extend<{ guard: void }>({
  guard: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`unexpected dialog: ${d.message()}`);
        void d.dismiss();
      });
      await page.exposeFunction('__reportCsp', (s: string) => problems.push(`CSP violation: ${s}`));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          (window as unknown as { __reportCsp(s: string): void }).__reportCsp(
            `${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`,
          );
        });
      });
      await use();
      expect(problems, 'page errors, dialogs and CSP violations').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Saves a full-page screenshot of a view into docs/screenshots/ (referenced by the README's quick start). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = new URL('../docs/screenshots/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}${name}.png`, fullPage: true, animations: 'disabled' });
}

/** Where the shared real traces are (read-only test data). */
export const REAL_TRACES = new URL('../../shared/traces-real/', import.meta.url).pathname;
export const ARROW_FUZZ = new URL('../../shared/arrow-fuzz/', import.meta.url).pathname;
