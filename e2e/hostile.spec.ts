// Hostile files dropped on a page that has the demo loaded: each is decoded in the trace worker's throwaway
// decode worker under a time budget and rejected with one clear line naming the file; the demo stays loaded
// with the same numbers, and the page keeps working. The full sets are covered in process by
// src/core/trace/hostile.test.ts (npx tsx scripts/fuzz-hostile.ts); this is the page-side sample.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { dropFiles } from './drop';
import { ARROW_FUZZ, demoManifest, expect, test } from './fixtures';

const REGRESSIONS = new URL('../src/core/trace/fixtures/regressions/', import.meta.url).pathname;
const DEMO = new URL('../traces/demo/', import.meta.url).pathname;

/** Findings of the mutation fuzzer: apache-arrow's reader looped for > 40 s (hang) or failed inside (unclear, crash). */
const REGRESSION_FILES = [
  'fuzz-s1-c318-hang.arrow',
  'fuzz-s1-c2932-hang.arrow',
  'fuzz-s1-c1044-hang.arrow',
  'fuzz-s1-c290-unclear.arrow',
  'fuzz-s2-c36409-crash.arrow',
];
/**
 * From ../shared/arrow-fuzz: the five that kept apache-arrow's tableFromIPC busiest here (docs/reliability.md).
 * Those in Arrow's current framing (file magic or stream continuation marker) are decoded and refused for
 * what is wrong inside; the two in the pre-0.15 stream framing are not recognised as any routing format.
 */
const FUZZ_FILES: [string, 'decoded' | 'unrecognised'][] = [
  ['arrow-ipc-stream_crash-74aec871d14bb6b07c72ea8f0e8c9f72cbe6b73c', 'unrecognised'],
  ['arrow-ipc-stream_crash-09f72ba2a52b80366ab676364abec850fc668168', 'unrecognised'],
  ['arrow-ipc-stream_clusterfuzz-testcase-minimized-arrow-ipc-stream-fuzz-5191432679981056', 'decoded'],
  ['arrow-ipc-file_clusterfuzz-testcase-arrow-ipc-file-fuzz-6051391008473088', 'decoded'],
  ['arrow-ipc-stream_clusterfuzz-testcase-arrow-ipc-stream-fuzz-5756862809243648', 'decoded'],
];

/** What the overview shows about the loaded set (tokens, sequences, shape, datasets). */
const summary = (page: Page) =>
  page.locator('[data-testid="trace-summary"] dd').evaluateAll((dds) => dds.map((d) => `${d.getAttribute('data-testid')}=${d.textContent}`));

/** Drops `files`, waits for the error naming `name`, and checks it is one clear line. */
async function rejected(page: Page, files: { name: string; bytes: Buffer }[], name: string): Promise<string> {
  await dropFiles(page, files);
  const message = page.getByTestId('load-error-message');
  await expect(message).toContainText(name);
  await expect(page.getByTestId('loading')).toHaveCount(0);
  const text = (await message.textContent())!;
  expect(text.startsWith(name) || text.includes(`/${name}`), text).toBe(true);
  expect(text, 'one line').not.toContain('\n');
  // Not an internal error leaking through.
  expect(text).not.toMatch(/TypeError|RangeError|Cannot read|undefined|is not a function|Maximum call stack|internal error|decoder failed|took longer/);
  return text;
}

test('hostile files dropped on a loaded page are each rejected by name; the demo stays with the same numbers', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId('trace-summary')).toBeVisible();
  const before = await summary(page);
  const demo = demoManifest();
  const all = demo.shards.reduce((n, s) => n + s.tokens, 0);
  expect(before).toContain(`summary-tokens=${all.toLocaleString('en-US')}`);

  // What the structure check or the shard checks say; never a failed or stopped decoder.
  const STRUCTURAL = /Arrow IPC|flatbuffer|file footer|record batch|schema|buffer|metadata|column/;
  for (const name of REGRESSION_FILES) expect(await rejected(page, [{ name, bytes: readFileSync(REGRESSIONS + name) }], name)).toMatch(STRUCTURAL);
  for (const [name, kind] of FUZZ_FILES) {
    const text = await rejected(page, [{ name, bytes: readFileSync(ARROW_FUZZ + name) }], name);
    if (kind === 'decoded') expect(text).toMatch(STRUCTURAL);
    else expect(text).toContain('no routing data');
  }
  // A hostile shard inside a trace set whose manifest vouches for its bytes (the shard-against-manifest path).
  const hang = readFileSync(`${REGRESSIONS}fuzz-s1-c2932-hang.arrow`);
  const meta = JSON.parse(readFileSync(`${REGRESSIONS}fuzz-s1-c2932-hang.json`, 'utf8')) as { tokens: number; manifest: object };
  const manifest = { ...meta.manifest, shards: [{ file: 'shard-00000.arrow', tokens: meta.tokens, sha256: createHash('sha256').update(hang).digest('hex') }] };
  const files = [
    { name: 'manifest.json', bytes: Buffer.from(JSON.stringify(manifest)) },
    { name: 'shard-00000.arrow', bytes: hang },
  ];
  expect(await rejected(page, files, 'shard-00000.arrow')).toMatch(STRUCTURAL);

  // Still the demo, same numbers; its trace worker still answers a filter change.
  await expect(page.getByTestId('trace-url')).toHaveText('demo');
  expect(await summary(page)).toEqual(before);
  await page.locator('input[data-testid="dataset-option"][value="python"]').check();
  await expect(page.getByTestId('summary-tokens')).not.toHaveText(all.toLocaleString('en-US'));
  // And it still loads good input: a demo shard dropped alone opens as a lone shard.
  await dropFiles(page, [{ name: 'shard-00001.arrow', bytes: readFileSync(`${DEMO}shard-00001.arrow`) }]);
  // (Inferring a lone shard's shape takes a few seconds at most; a busy 2-core machine can take longer.)
  await expect(page.getByTestId('trace-url')).toHaveText('local:shard-00001.arrow', { timeout: 60_000 });
  await expect(page.getByTestId('load-error')).toHaveCount(0);
  await expect(page.getByTestId('summary-tokens')).toHaveText(demo.shards[1].tokens.toLocaleString('en-US'));
});
