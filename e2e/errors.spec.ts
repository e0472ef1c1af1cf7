import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';
import { deflateSync } from 'fflate';
import { ARROW_FUZZ, demoManifest, expect, test } from './fixtures';
import { dropFiles } from './drop';

const DEMO = new URL('../traces/demo/', import.meta.url).pathname;

test('a trace set that does not exist shows a clear error and the page keeps working', async ({ page }) => {
  await page.goto('/#trace=/traces/does-not-exist');
  const error = page.getByTestId('load-error');
  await expect(error).toBeVisible();
  await expect(page.getByTestId('load-error-message')).toContainText('/traces/does-not-exist/manifest.json');
  await expect(page.getByTestId('load-error-message')).toContainText('404');
  await expect(page.getByTestId('trace-summary')).toHaveCount(0);
  await expect(page.getByTestId('webgpu-worker')).not.toHaveAttribute('data-state', 'pending');

  // Still alive: pointing the hash at the demo loads it without a reload.
  await page.evaluate(() => (location.hash = '#trace=/traces/demo'));
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await expect(error).toHaveCount(0);
});

test('a javascript: trace URL is refused with a message, as text', async ({ page }) => {
  await page.goto('/#trace=' + encodeURIComponent('javascript:alert(1)//<img src=x onerror=alert(2)>'));
  const error = page.getByTestId('load-error');
  await expect(error).toBeVisible();
  await expect(page.getByTestId('load-error-message')).toContainText('"javascript:" URLs are not allowed');
  // The hostile text is shown literally, never parsed as HTML.
  await expect(error).toContainText('<img src=x onerror=alert(2)>');
  await expect(error.locator('img')).toHaveCount(0);
  await expect(page.getByTestId('trace-summary')).toHaveCount(0);
});

test('a hostile experiment link lists its problems as text and runs nothing', async ({ page }) => {
  const hash =
    'v=1&trace=demo&ctx=%3Cscript%3Ealert(1)%3C%2Fscript%3E&epochs=99999999999999999999&lr=1e999&panel=javascript:alert(1)' +
    '&__proto__=1&hidden=%25252541&backend=webgpu&foo=%3Cimg%20src%3Dx%20onerror%3Dalert(3)%3E&seed=7';
  await page.goto(`/#${hash}`);
  const box = page.getByTestId('link-problems');
  await expect(box).toBeVisible();
  const text = await box.innerText();
  for (const k of [
    '"ctx" must be an integer, got "<script>alert(1)</script>"',
    '"epochs"',
    '"lr"',
    '"panel" must be one of',
    'unknown key "__proto__"',
    '"hidden"',
    'unknown key "foo"',
  ])
    expect(text).toContain(k);
  await expect(box.locator('script, img')).toHaveCount(0);
  // Valid values were taken, refused ones replaced by defaults; the demo loaded and nothing trained.
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await expect(page).toHaveURL(/&ctx=3&.*&seed=7&backend=webgpu&panel=overview&/);
  await page.getByTestId('tab-training').click();
  await expect(page.getByTestId('training-status')).toHaveAttribute('data-state', 'idle');
  // An unknown version is refused as a whole.
  await page.goto('/#v=4&trace=/traces/elsewhere');
  await expect(page.getByTestId('link-problem')).toHaveText('link: version "4" is not supported (this page reads versions 1, 2, 3); nothing in it was used');
});

test('hostile compressed links are refused as a whole, with a message, and the page keeps working', async ({ page }) => {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  const cases: [hash: string, message: string][] = [
    // A zip bomb: 2 MB of "a" in under 3,000 characters; inflating stops at the link length limit.
    [`v=2&z=${b64(deflateSync(new Uint8Array(2_000_000).fill(97), { level: 9 }))}`, 'expands to more than 8192 characters'],
    // Small once compressed, over the link length limit once inflated.
    [`v=2&z=${b64(deflateSync(new TextEncoder().encode(`v=1&trace=demo&${'ds=x&'.repeat(2000)}`), { level: 9 }))}`, 'expands to more than 8192 characters'],
    ['v=2&z=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'not base64url text'],
    ['v=2&z=AAAA', 'link: '],
    ['v=2&trace=/traces/elsewhere', 'exactly one "z"'],
    ['v=9&z=AAAA', 'version "9" is not supported (this page reads versions 1, 2, 3)'],
  ];
  for (const [hash, message] of cases) {
    await page.goto(`/#${hash}`);
    await expect(page.getByTestId('link-problem')).toHaveCount(1);
    await expect(page.getByTestId('link-problem')).toContainText(message);
    await expect(page.getByTestId('link-problem')).toContainText('nothing in it was used');
    await expect(page.getByTestId('link-problems').locator('script, img')).toHaveCount(0);
    // Refused as a whole: the default experiment, on the demo.
    await expect(page.getByTestId('trace-summary')).toBeVisible();
    await expect(page).toHaveURL(/#v=1&trace=demo&task=layers&vis=decode&ctx=3&/);
  }
});

/** The tokens the summary shows, as a number. */
const tokens = async (page: Page) => Number((await page.getByTestId('summary-tokens').textContent())!.replace(/\D/g, ''));

test('dropping corrupted files shows a clear error while the loaded trace set stays', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  const before = await tokens(page);
  const manifestText = readFileSync(`${DEMO}manifest.json`, 'utf8');

  // A trace set whose second shard was truncated in transit: its checksum no longer matches.
  const shard = readFileSync(`${DEMO}shard-00001.arrow`);
  await dropFiles(page, [
    { name: 'manifest.json', bytes: Buffer.from(manifestText) },
    { name: 'shard-00000.arrow', bytes: readFileSync(`${DEMO}shard-00000.arrow`) },
    { name: 'shard-00001.arrow', bytes: shard.subarray(0, shard.length - 100) },
  ]);
  await expect(page.getByTestId('load-error-message')).toContainText('shard-00001.arrow: SHA-256 is');
  await expect(page.getByTestId('load-error-message')).toContainText('corrupted or replaced file');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  expect(await tokens(page)).toBe(before);

  // A hostile Arrow file from the fuzz corpus, under a manifest that vouches for its bytes: the decoder refuses it.
  const fuzzName = 'arrow-ipc-stream_clusterfuzz-testcase-arrow-ipc-stream-fuzz-5151909853528064';
  const fuzz = readFileSync(`${ARROW_FUZZ}${fuzzName}`);
  const m = demoManifest();
  const hostile = { ...m, shards: [{ file: 'shard-00000.arrow', tokens: 10, sha256: createHash('sha256').update(fuzz).digest('hex') }] };
  await dropFiles(page, [
    { name: 'manifest.json', bytes: Buffer.from(JSON.stringify(hostile)) },
    { name: 'shard-00000.arrow', bytes: fuzz },
  ]);
  // The message names the file and says what is wrong with it (whichever check of the decoder caught it).
  await expect(page.getByTestId('load-error-message')).toContainText(/shard-00000\.arrow: .*(Arrow|flatbuffer|column|corrupt)/i);
  await expect(page.getByTestId('load-error-message')).not.toContainText(/TypeError|undefined|null/);
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  expect(await tokens(page)).toBe(before);

  // The same fuzz file dropped alone: decoded as a lone shard and refused, by name.
  await dropFiles(page, [{ name: fuzzName, bytes: fuzz }]);
  await expect(page.getByTestId('load-error-message')).toContainText(fuzzName);

  // A routing CSV with a broken row, through the file chooser: the importer names the file and the line.
  const csv = 'Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,a,"[1, 2]"\n2,0,a,"[1, oops]"\n';
  await page.getByTestId('file-input').setInputFiles({ name: 'prompt_bad_data.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(page.getByTestId('load-error-message')).toContainText('prompt_bad_data.csv:3: "Activated Expert IDs"');
  await expect(page.getByTestId('load-error-message')).toContainText('"[1, oops]"');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  expect(await tokens(page)).toBe(before);
  await expect(page.getByTestId('trace-url')).toHaveText('demo');
});

test('a load that stalls past its time budget is stopped and rejected; the page keeps its data', async ({ page }) => {
  // A server that accepts the request and never answers (CORS would come with the headers, which never do).
  const hang: Server = createServer(() => {});
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  const port = (hang.address() as AddressInfo).port;
  try {
    await page.goto('/');
    await expect(page.getByTestId('trace-summary')).toBeVisible();
    // Lowered only now, so the demo's own load (worker start-up on a busy machine) is not held to it.
    await page.evaluate(() => localStorage.setItem('speclab.loadStallMs', '1500'));
    await page.getByTestId('url-input').fill(`http://127.0.0.1:${port}/set`);
    await page.getByTestId('url-open').click();
    await expect(page.getByTestId('loading')).toBeVisible();
    await expect(page.getByTestId('load-error-message')).toContainText('no progress for 1.5 s, so the reader was stopped');
    await expect(page.getByTestId('trace-summary')).toBeVisible();
    await expect(page.getByTestId('trace-url')).toHaveText('demo');
    // The trace worker that holds the demo still answers: the analyses follow a filter change.
    const all = demoManifest().shards.reduce((n, s) => n + s.tokens, 0);
    await page.locator('input[data-testid="dataset-option"][value="python"]').check();
    await expect.poll(() => tokens(page)).toBeLessThan(all);
  } finally {
    hang.closeAllConnections();
    hang.close();
  }
});
