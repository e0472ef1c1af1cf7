import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

interface LongTask {
  start: number;
  duration: number;
}

test.describe.configure({ timeout: 300_000 });

// Long tasks are wall-clock time: on a 2-core machine where the SwiftShader training worker and other processes
// hold both cores, short page tasks get stretched past 100 ms (seen: 4 of 6 runs under load 8-14). The check is
// kept strict and runs where its figure means something: an idle machine, `SPECLAB_PERF=1 npx playwright test
// e2e/perf.spec.ts` (docs/benchmarks.md).
test.skip(!process.env.SPECLAB_PERF, 'set SPECLAB_PERF=1 on an idle machine to check long tasks');

/** Marks a step in the page's timeline, so a long task can be told apart by what the test was doing. */
const step = (page: Page, name: string) => page.evaluate((n) => performance.mark(`step:${n}`), name);

test('no main-thread task over 100 ms while loading the demo, showing every view and training on it', async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: LongTask[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration) });
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto('/#hidden=16&emb=8&epochs=1&batch=64&lr=0.003');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  for (const view of ['coactivation', 'transitions', 'reuse', 'overview']) {
    await step(page, `view ${view}`);
    await page.getByTestId(`tab-${view}`).click();
    await expect(page.getByTestId(`tab-${view}`)).toHaveAttribute('aria-selected', 'true');
  }
  // A second load of the demo, as files this time (decode, import checks and analyses in the worker).
  await step(page, 'open folder');
  await page.getByTestId('folder-input').setInputFiles(new URL('../traces/demo/', import.meta.url).pathname);
  await expect(page.getByTestId('trace-url')).toHaveText('local:demo');
  await step(page, 'view training');
  await page.getByTestId('tab-training').click();
  await expect(page.getByTestId('run')).toBeVisible();
  await step(page, 'run');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('result-row')).toHaveCount(6); // the model and five baselines (the demo has the lookahead gate)

  // From the notebook's start mark on (the page's own script evaluation before it is startup, reported only).
  const { start, tasks, steps } = await page.evaluate(() => ({
    start: performance.getEntriesByName('speclab:start')[0].startTime,
    tasks: (window as unknown as { __longTasks: LongTask[] }).__longTasks,
    steps: performance.getEntriesByType('mark').map((m) => ({ name: m.name, at: Math.round(m.startTime) })),
  }));
  const during = (t: LongTask) => steps.filter((s) => s.at <= t.start).at(-1)?.name ?? 'startup';
  const startup = tasks.filter((t) => t.start < start);
  const after = tasks.filter((t) => t.start >= start).map((t) => ({ ...t, during: during(t) }));
  test.info().annotations.push({ type: 'long tasks', description: `startup: ${JSON.stringify(startup)}; after start: ${JSON.stringify(after)}` });
  expect(
    after.filter((t) => t.duration > 100),
    'main-thread tasks over 100 ms while loading and training',
  ).toEqual([]);
});
