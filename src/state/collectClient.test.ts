/**
 * The collector client against a real `speclab-collect serve` process (the .venv's Python) running the bundled
 * demo model: connect, refusals, submit, event stream with progress, cancel, resume, and the finished trace set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectClient, CollectError, describeProgress, parseServerUrl, type Job } from './collectClient';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = join(ROOT, '.venv/bin/python');
const MODEL = join(ROOT, 'collector/speclab_collect/demo_model');
const TOKEN = 'client-test-token-0123456789';

let server: ChildProcess;
let url = '';
let work = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'speclab-collect-client-'));
  copyFileSync(join(MODEL, 'eval-python.jsonl'), join(work, 'python.jsonl'));
  server = spawn(
    PYTHON,
    ['-m', 'speclab_collect', 'serve', '--port', '0', '--out-root', join(work, 'runs'), '--token', TOKEN, '--model-root', MODEL, '--data-root', work],
    // A pause after each batch, so a job runs long enough to be cancelled mid-way.
    { cwd: ROOT, env: { ...process.env, SPECLAB_COLLECT_TEST_DELAY: '0.3' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  url = await new Promise<string>((resolve, reject) => {
    let err = '';
    server.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}, 60_000);

afterAll(() => {
  server?.kill('SIGTERM');
  if (work) rmSync(work, { recursive: true, force: true });
});

const spec = (name: string, budget: number, extra: Record<string, unknown> = {}) => ({
  name,
  model: MODEL,
  tokenizer: 'bytes',
  datasets: [{ source: join(work, 'python.jsonl'), budget, label: 'python' }],
  seqLen: 512,
  batchSize: 1,
  dtype: 'fp32' as const,
  shardTokens: 128,
  threads: 1,
  ...extra,
});

describe('parseServerUrl', () => {
  it('takes the printed URL apart and refuses what is not one', () => {
    expect(parseServerUrl(' http://127.0.0.1:8765/?token=abcdefgh123 ')).toEqual({ base: 'http://127.0.0.1:8765', token: 'abcdefgh123' });
    expect(parseServerUrl('http://localhost:9/?token=abcdefgh123').base).toBe('http://localhost:9');
    expect(() => parseServerUrl('127.0.0.1:8765')).toThrow(/not a URL/);
    expect(() => parseServerUrl('http://127.0.0.1:8765/')).toThrow(/no \?token=/);
    expect(() => parseServerUrl('http://evil.example:8765/?token=abcdefgh123')).toThrow(/127\.0\.0\.1 only/);
    expect(() => parseServerUrl('https://127.0.0.1:8765/?token=abcdefgh123')).toThrow(/http on this machine/);
    expect(() => parseServerUrl('http://127.0.0.1:8765/?token=a b<script>')).toThrow(/malformed/);
  });
});

describe('CollectClient against speclab-collect serve', () => {
  it('connects with the printed token; a wrong token or an unreachable server says what to do', async () => {
    const client = CollectClient.fromUrl(url);
    expect(await client.health()).toMatch(/^\d+\.\d+/);
    expect(await client.listJobs()).toEqual([]);
    const wrong = new CollectClient({ base: client.base, token: 'not-the-token' });
    const e = await wrong.health().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CollectError);
    expect((e as CollectError).status).toBe(401);
    expect((e as Error).message).toMatch(/missing or wrong token .*paste the URL it printed/);
    await expect(new CollectClient({ base: 'http://127.0.0.1:9', token: TOKEN }).health()).rejects.toThrow(
      /cannot reach the collector at http:\/\/127\.0\.0\.1:9/,
    );
  });

  it('refuses bad specs with the reason: in the client, and from the server', async () => {
    const client = CollectClient.fromUrl(url);
    await expect(client.submit({ ...spec('x', 10), name: '../x' })).rejects.toThrow(/job name: 1-64 letters/);
    await expect(client.submit(spec('outside', 10, { datasets: ['/etc/passwd'] }))).rejects.toThrow(/datasets\[0\]: local files must be under/);
    await expect(client.submit(spec('q', 10, { quantization: 'int3' }))).rejects.toThrow(/job quantization/);
    expect(await client.listJobs()).toEqual([]);
  });

  it('runs a job: streamed progress, done, and its trace set served with matching checksums', async () => {
    const client = CollectClient.fromUrl(url);
    const submitted = await client.submit(spec('first', 300));
    expect(submitted).toMatchObject({ name: 'first', status: 'queued', trace: '/traces/first/manifest.json' });
    const seen: Job[] = [];
    const last = await client.watch('first', (j) => seen.push(j));
    expect(last?.status).toBe('done');
    expect(seen.map((j) => j.status)).toContain('running');
    const progress = seen.map((j) => j.progress).filter((p) => p?.event === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ total: 300 });
    expect(describeProgress({ ...seen.find((j) => j.progress?.event === 'progress')!, status: 'running' })).toMatch(
      /\/ 300 tokens \(\d+%\) · [\d,]+ tokens\/s · ETA/,
    );
    expect((await client.listJobs()).map((j) => [j.name, j.status])).toEqual([['first', 'done']]);

    const files = await client.traceFiles('first');
    expect(files.map((f) => f.path)).toEqual(['first/manifest.json', 'first/shard-00000.arrow', 'first/shard-00001.arrow', 'first/shard-00002.arrow']);
    const manifest = JSON.parse(await files[0].file.text()) as { shards: { file: string; tokens: number; sha256: string }[]; numLayers: number };
    expect(manifest.numLayers).toBe(6);
    expect(manifest.shards.reduce((n, s) => n + s.tokens, 0)).toBe(300);
    for (const [i, s] of manifest.shards.entries()) {
      const bytes = Buffer.from(await files[i + 1].file.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(s.sha256);
    }
    expect(await client.log('first')).toContain('start');
  }, 180_000);

  it('cancels a running job and resumes it to the end', async () => {
    const client = CollectClient.fromUrl(url);
    await client.submit(spec('long', 900));
    const ctl = new AbortController();
    // Follow it until it has written something, then cancel.
    await client
      .watch(
        'long',
        (j) => {
          if (j.status === 'running' && (j.progress?.tokens ?? 0) > 0) ctl.abort();
        },
        ctl.signal,
      )
      .catch((e: unknown) => {
        if ((e as Error).name !== 'AbortError') throw e;
      });
    expect((await client.cancel('long')).status).toBe('cancelled');
    await expect(client.cancel('long')).rejects.toMatchObject({ status: 409 });
    expect((await client.resume('long')).status).toBe('queued');
    const last = await client.watch('long', () => {});
    expect(last?.status).toBe('done');
    const manifest = JSON.parse(await (await client.traceFiles('long'))[0].file.text()) as { shards: { tokens: number }[]; source: { complete: boolean } };
    expect(manifest.shards.reduce((n, s) => n + s.tokens, 0)).toBe(900);
    expect(manifest.source.complete).toBe(true);
    expect(existsSync(join(work, 'runs', 'traces', 'long', 'manifest.json'))).toBe(true);
  }, 240_000);
});
