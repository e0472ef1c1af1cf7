import { expect, test } from './fixtures';

interface LongTask {
  start: number;
  duration: number;
}

test.describe.configure({ timeout: 300_000 });

test('no main-thread task over 100 ms while loading the demo, showing every view and training on it', async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration) });
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto('/#hidden=16&emb=8&epochs=1&batch=64&lr=0.003');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  for (const view of ['coactivation', 'transitions', 'reuse', 'overview']) {
    await page.getByTestId(`tab-${view}`).click();
    await expect(page.getByTestId(`tab-${view}`)).toHaveAttribute('aria-selected', 'true');
  }
  // A second load of the demo, as files this time (decode, import checks and analyses in the worker).
  await page.getByTestId('folder-input').setInputFiles(new URL('../traces/demo/', import.meta.url).pathname);
  await expect(page.getByTestId('trace-url')).toHaveText('local:demo');
  await page.getByTestId('tab-training').click();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('result-row')).toHaveCount(5);

  // From the notebook's start mark on (the page's own script evaluation before it is startup, reported only).
  const { start, tasks } = await page.evaluate(() => ({
    start: performance.getEntriesByName('speclab:start')[0].startTime,
    tasks: (window as unknown as { __longTasks: LongTask[] }).__longTasks,
  }));
  const startup = tasks.filter((t) => t.start < start);
  const after = tasks.filter((t) => t.start >= start);
  test.info().annotations.push({ type: 'long tasks', description: `startup: ${JSON.stringify(startup)}; after start: ${JSON.stringify(after)}` });
  console.log(JSON.stringify({ startup, after }));
  expect(after.filter((t) => t.duration > 100), 'main-thread tasks over 100 ms while loading and training').toEqual([]);
});
