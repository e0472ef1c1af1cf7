// npm run regress -- <suite.json> [--update] [--grep NAME] [--browser-path PATH] [--gpu] [--base-url URL] [--out DIR]
// Replays a suite of experiments headlessly in Chromium, reads each one's metrics through the page's
// automation interface (window.speclab, see src/ui/automation.ts), compares them with the stored baselines
// and writes a JSON and an HTML report. Exit status 1 on any regression, failed run or missing baseline.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from '@playwright/test';
import { baselineSchema, checkMetrics, describeCheck, flattenMetrics, parseSuite, resolveExperiment, type Baselines, type SuiteExperiment } from './suite';
import { detectFormat, importFiles, SNIFF_BYTES, type RawFile } from '../core/trace/importers';
import { writeTraceSet } from '../cli/fsTrace';
import { renderHtml, type CurvePoint, type ExperimentReport, type SuiteReport } from './report';
import { CHROMIUM_ARGS, GPU_ARGS, chromiumPath } from './browser';

/** What the page's automation interface returns from run(). */
interface PageRun {
  backend: string | null;
  results: Record<string, Record<string, unknown>>;
  curves: CurvePoint[];
  /** Why training or the baselines failed, as the page shows it. */
  errors?: string[];
}

/** Where imported raw traces are written: below traces/, which the app serves at /traces/. */
const REGRESS_TRACES = join('traces', '_regress');

/** Imports raw routing logs into traces/_regress/<name> and returns the experiment's hash pointing at them. */
async function importForRun(name: string, from: string, e: SuiteExperiment): Promise<string> {
  const files: RawFile[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) walk(join(p, f));
    else {
      const data = readFileSync(p);
      const fmt = detectFormat('', data.subarray(0, SNIFF_BYTES));
      if (fmt === 'jsonl' || fmt === 'hook-csv') files.push({ name: p, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    }
  };
  walk(from);
  const imported = importFiles(files, 'auto', { model: basename(from) });
  await writeTraceSet(join(REGRESS_TRACES, name), imported.set);
  return resolveExperiment({ ...e, hash: undefined, spec: { ...(e.spec ?? {}), trace: `/traces/_regress/${name}` } }, name).hash;
}

export function baselinePath(suitePath: string): string {
  return suitePath.replace(/\.json$/, '') + '.baseline.json';
}

async function startServer(): Promise<{ url: string; close(): Promise<void> }> {
  const vite = await import('vite');
  if (!existsSync('dist/index.html') || process.env.REGRESS_BUILD !== '0') await vite.build({ logLevel: 'warn' });
  const server = await vite.preview({ preview: { port: 0, strictPort: false }, logLevel: 'warn' });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the preview server did not report its URL');
  return { url: url.replace(/\/$/, ''), close: () => server.close() };
}

async function runOne(page: Page, link: string, timeoutMs: number): Promise<PageRun> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(link);
  await page.waitForFunction(() => (window as unknown as { speclab?: { ready?: boolean } }).speclab?.ready === true, null, { timeout: timeoutMs });
  const out = await page.evaluate(() => (window as unknown as { speclab: { run(): Promise<unknown> } }).speclab.run());
  if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`);
  const r = out as PageRun;
  if (r.errors?.length) throw new Error(`the experiment failed: ${r.errors.join('; ')}`);
  return r;
}

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      update: { type: 'boolean' },
      grep: { type: 'string' },
      'browser-path': { type: 'string' },
      gpu: { type: 'boolean' },
      'base-url': { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string', default: '300' },
    },
  });
  if (positionals.length !== 1) throw new Error('usage: npm run regress -- <suite.json> [--update] [--grep NAME] [--browser-path PATH] [--gpu]');
  const suitePath = resolve(positionals[0]);
  const suite = parseSuite(readFileSync(suitePath, 'utf8'), suitePath);
  const bPath = baselinePath(suitePath);
  let baselines: Baselines = { suite: suite.name, experiments: {} };
  if (existsSync(bPath)) {
    const r = baselineSchema.safeParse(JSON.parse(readFileSync(bPath, 'utf8')));
    if (!r.success) throw new Error(`${bPath}: not a baseline file (${r.error.issues[0].message})`);
    baselines = r.data;
  }
  const grep = v.grep ? new RegExp(v.grep as string) : null;
  const experiments = suite.experiments.filter((e) => !grep || grep.test(e.name));
  if (!experiments.length) throw new Error(`no experiment of ${suite.name} matches --grep ${v.grep}`);
  const outDir = resolve((v.out as string | undefined) ?? join('regress-report', basename(suitePath, '.json')));
  mkdirSync(outDir, { recursive: true });

  const server = v['base-url'] ? { url: (v['base-url'] as string).replace(/\/$/, ''), close: async () => {} } : await startServer();
  const browser = await chromium.launch({
    executablePath: chromiumPath(v['browser-path'] as string | undefined),
    args: [...CHROMIUM_ARGS, ...(v.gpu ? GPU_ARGS : [])],
  });
  const reports: ExperimentReport[] = [];
  try {
    for (const e of experiments) {
      const t0 = performance.now();
      let { hash } = resolveExperiment(e, suitePath);
      if (e.importTrace) hash = await importForRun(e.name, resolve(dirname(suitePath), e.importTrace), e);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const link = `${server.url}/#${hash.replace(/^#/, '')}`;
      const report: ExperimentReport = { name: e.name, link, backend: null, status: 'pass', checks: [], curves: [], seconds: 0 };
      try {
        const out = await runOne(page, link, Number(v.timeout) * 1000);
        report.backend = out.backend;
        report.curves = out.curves ?? [];
        const measured = flattenMetrics(out.results);
        if (v.update)
          baselines.experiments[e.name] = Object.fromEntries(
            Object.keys(e.metrics)
              .filter((m) => m in measured)
              .map((m) => [m, measured[m]]),
          );
        report.checks = checkMetrics(e.metrics, measured, baselines.experiments[e.name]);
        if (report.checks.some((c) => c.verdict !== 'pass')) report.status = 'fail';
      } catch (err) {
        report.status = 'error';
        report.error = (err as Error).message;
      }
      report.screenshot = (await page.screenshot({ fullPage: false }).catch(() => undefined))?.toString('base64');
      await page.close();
      report.seconds = (performance.now() - t0) / 1000;
      reports.push(report);
      for (const c of report.checks) if (c.verdict !== 'pass') process.stdout.write(describeCheck(e.name, c) + '\n');
      process.stdout.write(
        `${report.status === 'pass' ? 'PASS' : report.status === 'fail' ? 'FAIL' : 'ERROR'} ${e.name} (${report.seconds.toFixed(1)} s)${report.error ? `: ${report.error}` : ''}\n`,
      );
    }
  } finally {
    await browser.close();
    await server.close();
  }
  if (v.update) {
    baselines = {
      ...baselines,
      suite: suite.name,
      backend: reports.find((r) => r.backend)?.backend ?? baselines.backend,
      updated: new Date().toISOString().slice(0, 10),
    };
    writeFileSync(bPath, JSON.stringify(baselines, null, 2) + '\n');
    process.stdout.write(`baselines written to ${bPath}\n`);
  }
  const result: SuiteReport = {
    suite: suite.name,
    date: new Date().toISOString(),
    browser: `Chromium ${browser.version()}${v.gpu ? ' (GPU flags)' : ''}`,
    passed: reports.every((r) => r.status === 'pass'),
    experiments: reports,
  };
  mkdirSync(dirname(join(outDir, 'x')), { recursive: true });
  writeFileSync(join(outDir, 'report.json'), JSON.stringify({ ...result, experiments: reports.map(({ screenshot: _s, ...r }) => r) }, null, 2) + '\n');
  writeFileSync(join(outDir, 'report.html'), renderHtml(result));
  const passed = reports.filter((r) => r.status === 'pass').length;
  process.stdout.write(`${passed} passed, ${reports.length - passed} failed\nreport: ${join(outDir, 'report.html')}\n`);
  return result.passed ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`regress: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
