import { describe, expect, it } from 'vitest';
import type { PickedFile } from '../workers/traceProtocol';
import type { Job, JobSpec } from './collectClient';
import { CollectController, type CollectApi } from './collectController';
import { createNotebookStore } from './notebookStore';

const job = (name: string, status: Job['status'], tokens = 0): Job => ({
  name,
  spec: {},
  status,
  progress: tokens ? { event: 'progress', tokens, total: 100 } : null,
  error: status === 'failed' ? 'boom' : null,
  created: 1,
  updated: 2,
  trace: `/traces/${name}/manifest.json`,
});

/** A collector in memory: event streams the test drives by hand. */
class FakeCollector implements CollectApi {
  readonly base = 'http://127.0.0.1:8765';
  jobs: Job[] = [];
  calls: string[] = [];
  streams = new Map<string, { push(j: Job): void; end(last: Job | null): void; fail(e: Error): void; signal?: AbortSignal }>();
  failHealth: Error | null = null;
  async health() {
    this.calls.push('health');
    if (this.failHealth) throw this.failHealth;
    return '0.3.0';
  }
  async listJobs() {
    return [...this.jobs];
  }
  async submit(spec: JobSpec) {
    this.calls.push(`submit ${spec.name}`);
    if (this.jobs.some((j) => j.name === spec.name)) throw new Error(`job ${spec.name} exists`);
    const j = job(spec.name, 'queued');
    this.jobs.push(j);
    return j;
  }
  async cancel(name: string) {
    this.calls.push(`cancel ${name}`);
    return job(name, 'cancelled');
  }
  async resume(name: string) {
    this.calls.push(`resume ${name}`);
    if (name === 'bad') throw new Error('no job named bad');
    return job(name, 'queued');
  }
  async log(name: string) {
    return `${'x'.repeat(5000)}log of ${name}`;
  }
  async traceFiles(name: string): Promise<PickedFile[]> {
    this.calls.push(`files ${name}`);
    return [{ path: `${name}/manifest.json`, file: new File(['{}'], 'manifest.json') }];
  }
  watch(name: string, onJob: (j: Job) => void, signal?: AbortSignal): Promise<Job | null> {
    this.calls.push(`watch ${name}`);
    return new Promise((resolve, reject) => {
      this.streams.set(name, { push: onJob, end: resolve, fail: reject, signal });
      signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    });
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup(jobs: Job[] = []) {
  const store = createNotebookStore();
  const fake = new FakeCollector();
  fake.jobs = jobs;
  const opened: PickedFile[][] = [];
  const urls: string[] = [];
  const ctl = new CollectController(
    store,
    (f) => opened.push(f),
    (url) => (urls.push(url), fake),
  );
  return { store, fake, ctl, opened, urls, c: () => store.getState().collect };
}

describe('CollectController', () => {
  it('connects with the URL given, lists the jobs and follows each one that has not ended', async () => {
    const { ctl, fake, c, urls } = setup([job('a', 'done'), job('b', 'running'), job('c', 'queued'), job('d', 'failed')]);
    await ctl.connect('http://127.0.0.1:8765/?token=t');
    expect(urls).toEqual(['http://127.0.0.1:8765/?token=t']);
    expect(c().server).toEqual({ base: 'http://127.0.0.1:8765', version: '0.3.0' });
    expect(c().jobs.map((j) => j.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(ctl.followed.sort()).toEqual(['b', 'c']);
    // Progress from the stream reaches the store.
    fake.streams.get('b')!.push(job('b', 'running', 40));
    expect(c().jobs[1].progress?.tokens).toBe(40);
  });

  it('a failed connect throws and changes nothing', async () => {
    const { ctl, fake, c } = setup();
    fake.failHealth = new Error('missing or wrong token');
    await expect(ctl.connect('http://127.0.0.1:8765/?token=x')).rejects.toThrow('missing or wrong token');
    expect(c().server).toBeNull();
    expect(ctl.followed).toEqual([]);
  });

  it('opens a watched job that finishes (when asked), and not when the user turned it off', async () => {
    const { ctl, fake, c, opened } = setup([job('a', 'running'), job('b', 'running')]);
    await ctl.connect('u');
    fake.streams.get('a')!.push(job('a', 'done'));
    fake.streams.get('a')!.end(job('a', 'done'));
    await tick();
    expect(opened.map((f) => f[0].path)).toEqual(['a/manifest.json']);
    expect(c().opened).toBe('a');
    expect(ctl.followed).toEqual(['b']);
    ctl.setOpenWhenDone(false);
    fake.streams.get('b')!.push(job('b', 'done'));
    fake.streams.get('b')!.end(job('b', 'done'));
    await tick();
    expect(opened).toHaveLength(1);
    expect(c().jobs.map((j) => j.status)).toEqual(['done', 'done']);
  });

  it('submits, cancels and resumes; a failure is shown as the error and the next success clears it', async () => {
    const { ctl, fake, c } = setup();
    await ctl.connect('u');
    await ctl.submit({ name: 'new', model: '/m', datasets: ['imdb:1k'] } as JobSpec);
    expect(c().jobs.map((j) => [j.name, j.status])).toEqual([['new', 'queued']]);
    expect(ctl.followed).toEqual(['new']); // a submitted job is followed at once
    await expect(ctl.submit({ name: 'new', model: '/m', datasets: ['imdb:1k'] } as JobSpec)).rejects.toThrow('exists');
    await ctl.cancel('new');
    expect(c().jobs[0].status).toBe('cancelled');
    expect(ctl.followed).toEqual([]); // its stream stops once it has ended
    expect(fake.streams.get('new')!.signal?.aborted).toBe(true);
    await ctl.resume('bad');
    expect(c().error).toBe('no job named bad');
    await ctl.resume('new');
    expect(c().error).toBeNull();
    expect(c().jobs[0].status).toBe('queued');
    expect(fake.calls.filter((x) => x.startsWith('watch'))).toEqual(['watch new', 'watch new']);
  });

  it('shows and hides logs (their end), reports a broken stream, and disconnecting stops every stream and forgets the jobs', async () => {
    const { ctl, fake, c } = setup([job('a', 'running'), job('b', 'queued')]);
    await ctl.connect('u');
    await ctl.toggleLog('a');
    expect(c().logs.a).toHaveLength(4000);
    expect(c().logs.a.endsWith('log of a')).toBe(true);
    await ctl.toggleLog('a');
    expect(c().logs).toEqual({});
    fake.streams.get('a')!.fail(new Error('stream cut'));
    await tick();
    expect(c().error).toBe('following a: stream cut');
    ctl.setOpenWhenDone(false);
    ctl.disconnect();
    expect(fake.streams.get('b')!.signal?.aborted).toBe(true);
    expect(ctl.followed).toEqual([]);
    expect(c()).toMatchObject({ server: null, jobs: [], error: null, openWhenDone: false });
    await tick();
    expect(c().error).toBeNull(); // an aborted stream is not an error
    await expect(ctl.submit({ name: 'x' } as JobSpec)).rejects.toThrow('not connected');
  });
});
