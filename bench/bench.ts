// npm run bench: the page at scale. A synthetic 10M-token, 32-layer, 8-expert top-2 trace set (bench/scale-trace.ts)
// is loaded, filtered, analysed and trained on by the built app in headless Chromium, and numpy runs the same
// analyses on the same files in the same run. Prints decode tokens/s, analysis times, the longest main-thread
// task, peak memory, the ratios and pass/fail against the targets. Exits 1 when the results disagree with numpy
// or a target is missed.
//
//   npm run bench                      10M tokens (BENCH_TOKENS=N for another size), builds the app first
//   npm run bench -- --no-build        reuse dist/
//   npm run bench -- --node            the Node-only decode and analysis benchmark (bench/decode-analyses.ts)
//   npm run bench -- --train --device cpu|gpu --model NAME [...] --json   training throughput (bench/train-bench.ts)
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { parseManifest } from '../src/core/trace/manifest';
import { decodeShard } from '../src/core/trace/shard';
import { CHROMIUM_ARGS, chromiumPath } from '../src/regress/browser';
import type { AutomationFigures } from '../src/ui/automation';
import { ensureScaleTrace, SCALE_DATASETS } from './scale-trace';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 10_000_000);
const SHARD_TOKENS = 250_000;
/** The dataset filter of the filtered analysis (3 of the 10 datasets). */
const FILTER = ['code', 'math', 'law'];
/** How long training runs before it is stopped (the figure is that it trains, not how far). */
const TRAIN_SECONDS = Number(process.env.BENCH_TRAIN_SECONDS ?? 45);
const python = existsSync('.venv/bin/python') ? '.venv/bin/python' : 'python3';

const TARGET = { decodeTokS: 2e6, analysisRatio: 0.5, longTaskMs: 100, memoryFactor: 2 };

interface LongTask {
  start: number;
  duration: number;
  during: string;
}

/** Serves a trace set folder on localhost with CORS (the page's CSP allows http://localhost:*). */
function serveFolder(dir: string): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
    const file = join(root, basename(name));
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!name || basename(name) !== name || !existsSync(file)) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://localhost:${(server.address() as { port: number }).port}` })));
}

async function startApp(build: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const vite = await import('vite');
  if (build || !existsSync('dist/index.html')) await vite.build({ logLevel: 'warn' });
  const server = await vite.preview({ preview: { port: 0, strictPort: false }, logLevel: 'warn' });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the preview server did not report its URL');
  return { url: url.replace(/\/$/, ''), close: () => server.close() };
}

/**
 * Main-thread tasks from a Chromium trace ('toplevel' category): wall time and the thread's CPU time of each.
 * On a loaded machine the wall time of a task includes time its thread waited for a core; the CPU time does not.
 */
function mainThreadTasks(trace: Buffer): { wall: number; cpu: number }[] {
  const events = (
    JSON.parse(trace.toString('utf8')) as {
      traceEvents: { name: string; ph: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } }[];
    }
  ).traceEvents;
  const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}/${e.tid}`));
  return events
    .filter((e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && main.has(`${e.pid}/${e.tid}`))
    .map((e) => ({ wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? e.dur ?? 0) / 1000 }));
}

/** Decoding the same shards in Node, from memory: the machine's speed in this run, for reading the page's figure. */
function nodeDecodeMs(dir: string): number {
  const m = parseManifest(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  let ms = 0;
  for (const s of m.shards) {
    const b = readFileSync(join(dir, s.file));
    const t0 = performance.now();
    decodeShard(new Uint8Array(b.buffer, b.byteOffset, b.length), m, s.file, s.tokens);
    ms += performance.now() - t0;
  }
  return ms;
}

/** Resident memory of a process from /proc (kB → bytes): now and peak. */
function procMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

const figures = (page: Page) => page.evaluate(() => (window as unknown as { speclab: { figures: AutomationFigures | null } }).speclab.figures);

/** Waits until the page shows an analysis for `key` (a datasets key), polling without holding its main thread. */
async function analysisFor(page: Page, key: string, timeoutMs: number) {
  const t0 = Date.now();
  for (;;) {
    const f = await page.evaluate((k) => {
      const s = (window as unknown as { speclab: { ready: boolean; figures: AutomationFigures | null } }).speclab;
      const f = s.figures;
      if (!s.ready || !f?.analysis || f.analysis.datasetsKey !== k) return null;
      // The position-weighted checksums numpy prints (no named functions here: the bundler would wrap them).
      const sums = [f.analysis.coactivation, f.analysis.transitions].map((a) => a.reduce((acc, c, i) => acc + ((c * i) % 1000003), 0));
      return { ...f, analysis: { ...f.analysis, coactivation: sums[0], transitions: sums[1] } };
    }, key);
    if (f) return f;
    const err = (await page.getByTestId('load-error').count()) ? await page.getByTestId('load-error').textContent() : null;
    if (err) throw new Error(`the page reported: ${err}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`no analysis for ${key} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface NumpyOut {
  tokens: number;
  sequences: number;
  consecutivePairs: number;
  decodeSeconds: number;
  analysisSeconds: number;
  numpy: string;
  entropyBits: number[];
  reuseFirst: number[];
  reuseAny: number[];
  coactivationChecksum: number;
  transitionsChecksum: number;
}

function numpy(dir: string, datasets: number[] | null): NumpyOut {
  const args = ['bench/numpy_analyses.py', dir, '--repeat', '2', ...(datasets ? ['--datasets', datasets.join(',')] : [])];
  return JSON.parse(execFileSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

/** Throws unless the page's statistics are numpy's (entropy and reuse to 1e-9, pair counts exactly). */
function agree(what: string, a: { stats: unknown; coactivation: number; transitions: number }, np: NumpyOut): number {
  const s = a.stats as { tokens: number; sequences: number; consecutivePairs: number; entropyBits: number[]; reuseFirst: number[]; reuseAny: number[] };
  const diff = Math.max(
    ...s.entropyBits.map((v, l) => Math.abs(v - np.entropyBits[l])),
    ...s.reuseFirst.map((v, l) => Math.abs(v - np.reuseFirst[l])),
    ...s.reuseAny.map((v, l) => Math.abs(v - np.reuseAny[l])),
  );
  if (s.tokens !== np.tokens || s.sequences !== np.sequences || s.consecutivePairs !== np.consecutivePairs)
    throw new Error(`${what}: token, sequence or pair counts differ from numpy`);
  if (a.coactivation !== np.coactivationChecksum || a.transitions !== np.transitionsChecksum)
    throw new Error(`${what}: co-activation or transition counts differ from numpy`);
  if (!(diff < 1e-9)) throw new Error(`${what}: statistics differ from numpy by ${diff}`);
  return diff;
}

async function browserBench(build: boolean) {
  const { dir, manifest } = await ensureScaleTrace({ tokens: TOKENS, shardTokens: SHARD_TOKENS }, (s) => process.stderr.write(s));
  const shardBytes = manifest.shards.reduce((n, s) => n + statSync(join(dir, s.file)).size, 0);
  const app = await startApp(build);
  const data = await serveFolder(dir);
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(() => {
      const w = window as unknown as { __longTasks: LongTask[]; __step: string };
      w.__longTasks = [];
      w.__step = 'startup';
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push({ start: Math.round(e.startTime), duration: Math.round(e.duration), during: w.__step });
      }).observe({ type: 'longtask', buffered: true });
    });
    const step = (name: string) => page.evaluate((n) => ((window as unknown as { __step: string }).__step = n), name);
    // The page first shows the demo; its renderer's memory then is the baseline the scale set adds to.
    await page.goto(`${app.url}/#hidden=16&emb=8&epochs=1&batch=1024`);
    await page.waitForFunction(() => (window as unknown as { speclab?: { ready: boolean } }).speclab?.ready === true, null, { timeout: 120_000 });
    const cdp = await browser.newBrowserCDPSession();
    const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
    const renderers = processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
    const rss = () => renderers.map((pid) => procMemory(pid)).filter((m) => m !== null);
    const base = rss().reduce((n, m) => n + m.rss, 0);
    let peak = base;
    const sampler = setInterval(
      () =>
        (peak = Math.max(
          peak,
          rss().reduce((n, m) => n + m.rss, 0),
        )),
      100,
    );
    const pageCdp = await page.context().newCDPSession(page);
    let heapPeak = 0;
    const heapSampler = setInterval(() => {
      pageCdp.send('Runtime.getHeapUsage').then(
        (h) => (heapPeak = Math.max(heapPeak, h.usedSize)),
        () => {},
      );
    }, 250);

    const load0 = loadavg()[0];
    await browser.startTracing(page, { categories: ['toplevel'] });
    const t0 = Date.now();
    await step('load + analyse');
    log(`loading ${data.url} ...`);
    await page.evaluate((u) => {
      const p = new URLSearchParams(location.hash.slice(1));
      p.set('trace', u);
      location.hash = p.toString();
    }, data.url);
    const full = await analysisFor(page, JSON.stringify([]), 900_000);
    const loadSeconds = (Date.now() - t0) / 1000;
    if (full.tokens !== TOKENS) throw new Error(`the page loaded ${full.tokens} tokens, not ${TOKENS}`);
    log(`loaded and analysed in ${loadSeconds.toFixed(1)} s; filtering ...`);
    await step('filter');
    await page.evaluate((ds) => {
      const p = new URLSearchParams(location.hash.slice(1));
      p.delete('ds');
      for (const d of ds) p.append('ds', d);
      location.hash = p.toString();
    }, FILTER);
    const filtered = await analysisFor(page, JSON.stringify(FILTER), 300_000);
    // Back to all datasets: a second, warm analysis of the whole set (numpy's figure is its best of two runs).
    await step('unfilter');
    await page.evaluate(() => {
      const p = new URLSearchParams(location.hash.slice(1));
      p.delete('ds');
      location.hash = p.toString();
    });
    const again = await analysisFor(page, JSON.stringify([]), 300_000);
    const fullMs = Math.min(full.analysis!.ms, again.analysis!.ms);
    log('training ...');
    await step('train');
    await page.getByTestId('tab-training').click();
    await page.getByTestId('run').click();
    const tTrain = Date.now();
    let training = (await figures(page))!.training;
    // Until it has trained for TRAIN_SECONDS (windows built and uploaded first), or finished on its own.
    let runningSince = 0;
    while (!['done', 'stopped', 'error'].includes(training.status)) {
      if (training.status === 'running') runningSince ||= Date.now();
      // The step count reaches the page every few dozen steps: wait for the first report too.
      if (runningSince && Date.now() - runningSince >= TRAIN_SECONDS * 1000 && training.step > 0) break;
      if (Date.now() - tTrain > 900_000) throw new Error(`training did not start in 15 minutes (${training.status})`);
      await new Promise((r) => setTimeout(r, 1000));
      training = (await figures(page))!.training;
    }
    if (training.status === 'error') throw new Error(`training failed: ${training.error}`);
    await step('stop');
    if (training.status === 'running') {
      await page.getByTestId('stop').dispatchEvent('click');
      await page.waitForFunction(
        () => (window as unknown as { speclab: { figures: AutomationFigures } }).speclab.figures.training.status !== 'stopping',
        null,
        { timeout: 300_000 },
      );
    }
    training = (await figures(page))!.training;
    await step('done');
    const cpuTasks = mainThreadTasks(await browser.stopTracing());
    const load1 = loadavg()[0];
    clearInterval(sampler);
    clearInterval(heapSampler);
    peak = Math.max(
      peak,
      rss().reduce((n, m) => n + m.rss, 0),
    );
    const tasks = await page.evaluate(() => (window as unknown as { __longTasks: LongTask[] }).__longTasks);
    const scaleTasks = tasks.filter((t) => t.during !== 'startup');
    const longest = scaleTasks.reduce<LongTask | null>((a, t) => (!a || t.duration > a.duration ? t : a), null);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    await browser.close();
    await app.close();
    data.server.close();

    log('numpy ...');
    const nodeMs = nodeDecodeMs(dir);
    const npFull = numpy(dir, null);
    const npFiltered = numpy(
      dir,
      FILTER.map((d) => SCALE_DATASETS.indexOf(d)),
    );
    const diff = Math.max(agree('unfiltered analysis', full.analysis!, npFull), agree('filtered analysis', filtered.analysis!, npFiltered));

    const decodeTokS = full.decodeMs ? TOKENS / (full.decodeMs / 1000) : NaN;
    const ratio = fullMs / (npFull.analysisSeconds * 1000);
    const ratioF = filtered.analysis!.ms / (npFiltered.analysisSeconds * 1000);
    const grown = peak - base;
    const longMs = longest?.duration ?? 0;
    const longCpu = cpuTasks.reduce((a, t) => Math.max(a, t.cpu), 0);
    const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    const checks = [
      decodeTokS >= TARGET.decodeTokS,
      ratio <= TARGET.analysisRatio,
      ratioF <= TARGET.analysisRatio,
      longMs <= TARGET.longTaskMs,
      grown <= TARGET.memoryFactor * shardBytes,
    ];
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
    const rows: [string, string][] = [
      [
        'machine',
        `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Chromium ${browser.version()}, Node ${process.version}, numpy ${npFull.numpy}`,
      ],
      ['load average (1 min)', `${load0.toFixed(1)} when loading started, ${load1.toFixed(1)} after training (${cpus().length} cores)`],
      [
        'trace',
        `${TOKENS} tokens x ${manifest.numLayers} layers, ${manifest.numExperts} experts top-${manifest.topK}, ${manifest.datasets.length} datasets, ${manifest.shards.length} shards, ${mb(shardBytes)}`,
      ],
      ['load + first analysis (wall)', `${loadSeconds.toFixed(1)} s (fetch, IndexedDB cache, SHA-256, decode, analysis)`],
      ['decode in the page', `${full.decodeMs?.toFixed(0)} ms = ${(decodeTokS / 1e6).toFixed(2)} M tokens/s (target >= 2 M)  ${pass(checks[0])}`],
      ['decode in Node (same run)', `${nodeMs.toFixed(0)} ms = ${(TOKENS / nodeMs / 1e3).toFixed(2)} M tokens/s (decodeShard from memory, one thread)`],
      [
        'analyses, page (all datasets)',
        `${fullMs.toFixed(0)} ms on ${full.analysis!.threads} thread(s) (best of 2: ${full.analysis!.ms.toFixed(0)} ms after loading, ${again.analysis!.ms.toFixed(0)} ms after the filter)`,
      ],
      [
        'analyses, numpy (all datasets)',
        `${(npFull.analysisSeconds * 1000).toFixed(0)} ms (best of 2; pyarrow read ${(npFull.decodeSeconds * 1000).toFixed(0)} ms)`,
      ],
      ['ratio page / numpy', `${ratio.toFixed(3)} (target <= 0.5)  ${pass(checks[1])}`],
      [`analyses, page (${FILTER.join(',')})`, `${filtered.analysis!.ms.toFixed(0)} ms on ${filtered.analysis!.threads} thread(s)`],
      [`analyses, numpy (${FILTER.join(',')})`, `${(npFiltered.analysisSeconds * 1000).toFixed(0)} ms`],
      ['ratio page / numpy (filtered)', `${ratioF.toFixed(3)} (target <= 0.5)  ${pass(checks[2])}`],
      ['results agree with numpy', `max |difference| ${diff.toExponential(1)}; token, pair, co-activation and transition counts equal`],
      ['training', `${training.status} after ${training.step} of ${training.totalSteps} steps (stopped after ${TRAIN_SECONDS} s of training)`],
      [
        'longest main-thread task',
        `${longMs} ms${longest ? ` (during ${longest.during})` : ''}; ${scaleTasks.filter((t) => t.duration > 50).length} tasks over 50 ms (target <= 100 ms)  ${pass(checks[3])}`,
      ],
      [
        'longest main-thread task, CPU',
        `${longCpu.toFixed(0)} ms of the thread's CPU time (${cpuTasks.length} tasks traced; the wall time above includes waiting for a core)`,
      ],
      [
        'renderer memory (page + workers)',
        `peak ${mb(peak)}, ${mb(grown)} above the demo page = ${(grown / shardBytes).toFixed(2)} x shard bytes (target <= 2 x)  ${pass(checks[4])}`,
      ],
      ['main-thread JS heap', `peak ${mb(heapPeak)}`],
      [
        'main-thread tasks over 50 ms',
        scaleTasks
          .filter((t) => t.duration > 50)
          .map((t) => `${t.duration} ms (${t.during})`)
          .join(', ') || 'none',
      ],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
    if (checks.some((c) => !c)) process.exitCode = 1;
  } finally {
    await browser.close().catch(() => {});
    await app.close().catch(() => {});
    data.server.close();
  }
}

if (process.argv.includes('--train')) await (await import('./train-bench')).trainBenchMain(process.argv.slice(2));
else if (process.argv.includes('--node')) await import('./decode-analyses');
else
  await browserBench(!process.argv.includes('--no-build')).catch((e) => {
    process.stderr.write(`bench failed: ${(e as Error).message}\n`);
    process.exit(1);
  });
