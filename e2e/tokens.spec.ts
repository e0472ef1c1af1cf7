// The token view: each token's text beside every layer's chosen experts, read a window at a time from the trace
// worker, following the dataset filter and the layer selector, on the demo and on a 100k-token set.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirSource, writeTraceChunks } from '../src/cli/fsTrace';
import { indexSequences, tokenWindow } from '../src/core/analysis/tokens';
import { readTraceSet } from '../src/core/trace/read';
import { syntheticChunks, syntheticManifest, type SyntheticOptions } from '../src/core/trace/synthetic';
import { visibleToken } from '../src/ui/panels/tokenGrid';
import { expect, test } from './fixtures';

const DEMO = new URL('../traces/demo/', import.meta.url).pathname;

test('the demo: a sequence as text with its experts, exact at the cursor, following the dataset filter and the layer selector', async ({ page }) => {
  const demo = await readTraceSet(dirSource(DEMO));
  const { numLayers: L, topK: K } = demo.manifest;
  const all = indexSequences(demo, null);
  const first = tokenWindow(demo, all, { sequence: 0, start: 0, count: 4096 });

  await page.goto('/#panel=tokens');
  const view = page.getByTestId('token-view');
  await expect(view).toBeVisible();
  const scroll = page.getByTestId('token-scroll');
  await expect(scroll).toHaveAttribute('data-rows', String(first.rows));
  await expect(page.getByTestId('tokens-sequence-count')).toHaveText(`of ${all.sequences.length}`);
  await expect(page.getByTestId('tokens-scope')).toContainText(`${first.rows} tokens`);
  // Windowed: a sequence longer than the box renders only the rows in view and a few more.
  const rendered = Number(await scroll.getAttribute('data-rendered'));
  expect(rendered).toBeGreaterThan(10);
  expect(rendered).toBeLessThan(Math.min(first.rows, 60));

  // Row 0 is the sequence's first token: its text and each layer's first choice as the trace holds them.
  const row0 = view.locator('[data-testid="token-row"][data-row="0"]');
  await expect(row0.getByTestId('token-text')).toHaveText(visibleToken(first.text![0]));
  const firstChoices = Array.from({ length: L }, (_, l) => first.experts[l * K]).join(',');
  await expect(row0.getByTestId('token-cells')).toHaveAttribute('data-first', firstChoices);

  // Pointing at layer 2's cell of row 3 shows its exact experts and weights.
  const cells = view.locator('[data-testid="token-row"][data-row="3"]').getByTestId('token-cells');
  const box = (await cells.boundingBox())!;
  const cellW = box.width / L;
  await cells.hover({ position: { x: cellW * 2 + cellW / (2 * K), y: box.height / 2 } });
  const tip = page.getByTestId('token-tooltip');
  await expect(tip).toBeVisible();
  await expect(tip).toContainText(`layer ${demo.manifest.moeLayerIds[2]} · sequence ${first.seq[3]}, position ${first.pos[3]}`);
  for (let j = 0; j < K; j++) {
    const o = (3 * L + 2) * K + j;
    await expect(tip).toContainText(`expert ${first.experts[o]}, weight ${first.weights![o].toFixed(4)}`);
  }

  // Clicking a cell selects its layer everywhere (the link, the selector, the outline).
  await cells.click({ position: { x: cellW * 4 + 2, y: box.height / 2 } });
  await expect(page).toHaveURL(/[#&]layer=4(&|$)/);
  await expect(page.getByTestId('tokens-layer')).toHaveValue('4');
  await expect(page.getByTestId('token-selected-layer')).toHaveAttribute('data-layer', '4');
  await page.getByTestId('tokens-layer').selectOption('1');
  await expect(page.getByTestId('token-selected-layer')).toHaveAttribute('data-layer', '1');
  // Beside the text: the selected layer's top-k expert ids.
  await expect(row0.getByTestId('token-ids')).toHaveText(Array.from({ length: K }, (_, j) => first.experts[1 * K + j]).join(' '));

  // Next sequence, then the dataset filter: only that dataset's sequences, from its first.
  await page.getByTestId('tokens-next').click();
  await expect(page.getByTestId('tokens-scope')).toContainText(`Sequence ${all.sequences[1].seq} (`);
  const python = demo.manifest.datasets.indexOf('python');
  const py = indexSequences(demo, [python]);
  await page.locator('input[data-testid="dataset-option"][value="python"]').check();
  await expect(page.getByTestId('tokens-sequence-count')).toHaveText(`of ${py.sequences.length}`);
  await expect(page.getByTestId('tokens-scope')).toContainText(`Sequence ${py.sequences[0].seq} (python): ${py.sequences[0].tokens} tokens`);
  await expect(view.locator('[data-testid="token-row"][data-row="0"]')).toHaveAttribute('data-seq', String(py.sequences[0].seq));

  // Every sequence in order stays so when the filter changes: all the demo's tokens, sequence after sequence.
  await page.getByTestId('tokens-all').check();
  await expect(page.getByTestId('tokens-scope')).toContainText(`${py.tokens.toLocaleString('en-US')} tokens in ${py.sequences.length} sequences`);
  await page.locator('input[data-testid="dataset-option"][value="python"]').uncheck();
  await expect(page.getByTestId('tokens-all')).toBeChecked();
  await expect(page.getByTestId('tokens-scope')).toContainText(`${all.tokens.toLocaleString('en-US')} tokens in ${all.sequences.length} sequences`);
  await expect(scroll).toHaveAttribute('data-rows', String(all.tokens));
});

test('a 100k-token set: only the rows in view are rendered, and scrolling reaches the last token', async ({ page }) => {
  const o: SyntheticOptions = { tokens: 100_000, numLayers: 8, numExperts: 16, topK: 2, seqLen: 25_000, seed: 5, datasets: ['big'] };
  const dir = join(mkdtempSync(join(tmpdir(), 'speclab-tokens-')), 'tokens-100k');
  const withText = (function* () {
    for (const c of syntheticChunks(o, 20_000)) yield { ...c, tokenText: Array.from(c.pos, (p, i) => `w${c.seq[i]}.${p}`) };
  })();
  await writeTraceChunks(dir, { ...syntheticManifest(o), hasTokenText: true }, withText);
  try {
    await page.goto('/');
    await expect(page.getByTestId('trace-summary')).toBeVisible();
    await page.getByTestId('folder-input').setInputFiles(dir);
    await expect(page.getByTestId('summary-tokens')).toHaveText('100,000');
    await page.getByTestId('tab-tokens').click();
    await page.getByTestId('tokens-all').check();
    const scroll = page.getByTestId('token-scroll');
    await expect(scroll).toHaveAttribute('data-rows', '100000');
    expect(Number(await scroll.getAttribute('data-rendered'))).toBeLessThan(80);
    await expect(page.getByTestId('token-row')).not.toHaveCount(0);
    expect(await page.getByTestId('token-row').count()).toBeLessThan(80);
    // To the end: the last token's text, read as its block arrives.
    await scroll.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    const last = page.locator('[data-testid="token-row"][data-row="99999"]');
    await expect(last.getByTestId('token-text')).toHaveText(`w3.${o.seqLen! - 1}`);
    expect(await page.getByTestId('token-row').count()).toBeLessThan(80);
    // The middle, by one sequence: sequence 3 of 4 starts at its position 0.
    await page.getByTestId('tokens-all').uncheck();
    await page.getByTestId('tokens-sequence').fill('3');
    await expect(page.getByTestId('tokens-scope')).toContainText('Sequence 2 (big): 25,000 tokens');
    await expect(page.locator('[data-testid="token-row"][data-row="0"]').getByTestId('token-text')).toHaveText('w2.0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a crashed trace worker: the token view says why instead of going blank, and reading works again once the set is reopened', async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('speclab.faultInjection', '1'));
  await page.goto('/#panel=tokens');
  await expect(page.locator('[data-testid="token-row"][data-row="0"]')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { speclab: { injectFault(k: string): Promise<boolean> } }).speclab.injectFault('trace-worker'))).toBe(
    true,
  );
  await page.getByTestId('tokens-next').click();
  await expect(page.getByTestId('tokens-error')).toContainText('the trace worker failed');
  await expect(page.getByTestId('tokens-error')).toContainText('open it again');
  await page.getByTestId('url-input').fill('demo');
  await page.getByTestId('url-open').click();
  await expect(page.getByTestId('tokens-error')).toHaveCount(0);
  await expect(page.locator('[data-testid="token-row"][data-row="0"]')).toBeVisible();
});
