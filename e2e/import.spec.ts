import { readFileSync } from 'node:fs';
import { decodeLinkHash } from '../src/core/experiment/compactLink';
import { importFiles } from '../src/core/trace/importers';
import { demoManifest, expect, REAL_TRACES, screenshot, test } from './fixtures';

const DEEPSEEK = `${REAL_TRACES}deepseek-v2-lite-chat/puffin-1-100/`;
const MIXTRAL = `${REAL_TRACES}mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl`;
const DEMO = new URL('../traces/demo/', import.meta.url).pathname;
const demo = demoManifest();
const DEMO_TOKENS = demo.shards.reduce((n, s) => n + s.tokens, 0);
const digits = async (page: import('@playwright/test').Page, id: string) => Number((await page.getByTestId(id).textContent())!.replace(/\D/g, ''));

test('imports real DeepSeek-V2-Lite hook CSVs through the file chooser', async ({ page }) => {
  const names = ['prompt_1_data.csv', 'prompt_2_data.csv', 'prompt_10_data.csv'];
  // What the importers make of the same files in Node: the page must show the same set.
  const expected = importFiles(
    names.map((name) => ({ name, data: readFileSync(DEEPSEEK + name, 'utf8') })),
    'auto',
  );
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await page.getByTestId('file-input').setInputFiles(names.map((n) => DEEPSEEK + n));
  await expect(page.getByTestId('summary-experts')).toHaveText('64');
  expect(await digits(page, 'summary-layers')).toBe(26);
  expect(await digits(page, 'summary-topk')).toBe(6);
  expect(await digits(page, 'summary-tokens')).toBe(expected.tokens);
  expect(await digits(page, 'summary-sequences')).toBe(3);
  await expect(page.getByTestId('import-note')).toContainText('3 hook-csv file(s)');
  await expect(page.getByTestId('trace-url')).toHaveText('local:prompt_1_data.csv and 2 more');
  // The model's layer ids (MoE layers 1..26) label the charts.
  await expect(page.getByTestId('entropy-chart').getByTestId('entropy-bar')).toHaveCount(26);
  await expect(page.getByTestId('entropy-chart').locator('text.axis-label').first()).toHaveText('1');
  await screenshot(page, 'import-deepseek');
  await page.getByTestId('tab-coactivation').click();
  await expect(page.getByTestId('coactivation-heatmap')).toHaveAttribute('data-cols', '64');
});

test('imports the real Mixtral routing JSONL, and a trace set folder by the folder picker', async ({ page }) => {
  const expected = importFiles([{ name: 'gsm8k_2_routing.jsonl', data: readFileSync(MIXTRAL, 'utf8') }], 'auto');
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  await page.getByTestId('file-input').setInputFiles(MIXTRAL);
  await expect(page.getByTestId('summary-layers')).toHaveText('32');
  expect(await digits(page, 'summary-experts')).toBe(8);
  expect(await digits(page, 'summary-tokens')).toBe(expected.tokens);
  expect(await digits(page, 'summary-dropped')).toBe(expected.droppedTokens);
  await expect(page.getByTestId('summary-datasets')).toHaveText(expected.set.manifest.datasets.join(', '));

  // A whole trace set folder (manifest.json + shards) through the folder picker.
  await page.getByTestId('folder-input').setInputFiles(DEMO);
  await expect(page.getByTestId('summary-layers')).toHaveText(String(demo.numLayers));
  expect(await digits(page, 'summary-tokens')).toBe(DEMO_TOKENS);
  await expect(page.getByTestId('trace-url')).toHaveText('local:demo');
  // A link can name local files but not carry them: opening it says so instead of loading something else.
  const link = await page.getByTestId('experiment-link').inputValue();
  expect(decodeLinkHash(new URL(link).hash).spec.trace).toBe('local:demo');
  const other = await page.context().newPage();
  await other.goto(link);
  await expect(other.getByTestId('load-error-message')).toContainText('open them again');
  await other.close();
});

test('shards are cached in IndexedDB by their SHA-256: a reload reads none from the network', async ({ page }) => {
  const shardRequests: string[] = [];
  page.context().on('request', (r) => {
    if (r.url().endsWith('.arrow')) shardRequests.push(r.url());
  });
  await page.goto('/');
  await expect(page.getByTestId('cache-note')).toHaveText(`Shards: 0 from the browser cache, ${demo.shards.length} fetched.`);
  const firstLoad = shardRequests.length;
  await page.reload();
  await expect(page.getByTestId('cache-note')).toHaveText(`Shards: ${demo.shards.length} from the browser cache, 0 fetched.`);
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  expect(await digits(page, 'summary-tokens')).toBe(DEMO_TOKENS);
  // No shard was requested again (worker requests show here when the browser reports them to Playwright).
  expect(shardRequests.length).toBe(firstLoad);
});
