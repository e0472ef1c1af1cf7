/**
 * Collect: the notebook's side of a running `speclab-collect serve`, outside React. It connects (the URL the
 * server printed, token included; the token stays in the client, in memory only), lists and follows jobs — one
 * event stream per job that has not ended — submits, cancels and resumes them, reads logs, and opens a finished
 * job's trace set in the notebook (by itself when a watched job finishes and the user asked for it).
 */
import type { PickedFile } from '../workers/traceProtocol';
import { CollectClient, TERMINAL_STATUSES, type Job, type JobSpec } from './collectClient';
import { errorText } from './errorText';
import type { NotebookState, NotebookStore } from './notebookStore';
import { IDLE_COLLECT } from './slices/collectSlice';

/** What the controller needs of a collector client (CollectClient; tests pass their own). */
export type CollectApi = Pick<CollectClient, 'base' | 'health' | 'listJobs' | 'submit' | 'cancel' | 'resume' | 'log' | 'traceFiles' | 'watch'>;

export class CollectController {
  private client: CollectApi | null = null;
  /** Event streams being read, by job. */
  private readonly watching = new Map<string, AbortController>();
  /** Jobs whose own stream reported their end: it closes by itself (and may open the trace set), not aborted. */
  private readonly ending = new Set<string>();
  private unsubscribe: () => void = () => {};

  constructor(
    private readonly store: NotebookStore,
    private readonly openFiles: (files: PickedFile[]) => void,
    private readonly clientFor: (url: string) => CollectApi = (url) => CollectClient.fromUrl(url),
  ) {}

  private get st(): NotebookState {
    return this.store.getState();
  }

  /** Checks the URL and token (health, then the job list); throws with the reason, leaving any connection as it was. */
  async connect(url: string): Promise<void> {
    const c = this.clientFor(url);
    const version = await c.health();
    const jobs = await c.listJobs();
    this.disconnect();
    this.client = c;
    this.st.patchCollect({ server: { base: c.base, version }, jobs, error: null, opened: null, logs: {} });
    this.unsubscribe = this.store.subscribe((s, prev) => {
      if (s.collect.jobs !== prev.collect.jobs) this.follow();
    });
    this.follow();
  }

  /** Stops every event stream and forgets the client (and its token). */
  disconnect(): void {
    this.unsubscribe();
    this.unsubscribe = () => {};
    for (const ctl of this.watching.values()) ctl.abort();
    this.watching.clear();
    this.ending.clear();
    this.client = null;
    this.st.patchCollect({ ...IDLE_COLLECT, openWhenDone: this.st.collect.openWhenDone });
  }

  setOpenWhenDone(on: boolean): void {
    this.st.patchCollect({ openWhenDone: on });
  }

  /** One event stream per job that has not ended; streams of jobs no longer listed as active stop. */
  private follow(): void {
    const c = this.client;
    if (!c) return;
    const want = new Set(this.st.collect.jobs.filter((j) => !TERMINAL_STATUSES.includes(j.status)).map((j) => j.name));
    for (const [name, ctl] of this.watching)
      if (!want.has(name) && !this.ending.has(name)) {
        ctl.abort();
        this.watching.delete(name);
      }
    for (const name of want) {
      if (this.watching.has(name)) continue;
      const ctl = new AbortController();
      this.watching.set(name, ctl);
      const onJob = (job: Job) => {
        if (ctl.signal.aborted) return;
        if (TERMINAL_STATUSES.includes(job.status)) this.ending.add(name);
        this.st.upsertJob(job);
      };
      c.watch(name, onJob, ctl.signal)
        .then((last) => {
          if (last?.status === 'done' && this.st.collect.openWhenDone && !ctl.signal.aborted) void this.open(name);
        })
        .catch((e: unknown) => {
          if (!ctl.signal.aborted) this.st.patchCollect({ error: `following ${name}: ${errorText(e)}` });
        })
        .finally(() => {
          if (this.watching.get(name) !== ctl) return;
          this.watching.delete(name);
          this.ending.delete(name);
        });
    }
  }

  /** Job names being followed now (tests). */
  get followed(): string[] {
    return [...this.watching.keys()];
  }

  private need(): CollectApi {
    if (!this.client) throw new Error('not connected to a collector');
    return this.client;
  }

  /** Submits a job; throws with the server's reason (the form shows it). */
  async submit(spec: JobSpec): Promise<Job> {
    const job = await this.need().submit(spec);
    this.st.upsertJob(job);
    return job;
  }

  private async act(f: (c: CollectApi) => Promise<Job>): Promise<void> {
    try {
      this.st.upsertJob(await f(this.need()));
      this.st.patchCollect({ error: null });
    } catch (e) {
      this.st.patchCollect({ error: errorText(e) });
    }
  }

  cancel(name: string): Promise<void> {
    return this.act((c) => c.cancel(name));
  }

  resume(name: string): Promise<void> {
    return this.act((c) => c.resume(name));
  }

  /** Shows a job's log (its last 4000 characters), or hides it when shown. */
  async toggleLog(name: string): Promise<void> {
    const { logs } = this.st.collect;
    if (name in logs) {
      const { [name]: _, ...rest } = logs;
      this.st.patchCollect({ logs: rest });
      return;
    }
    try {
      const text = await this.need().log(name);
      this.st.patchCollect({ logs: { ...this.st.collect.logs, [name]: text.slice(-4000) } });
    } catch (e) {
      this.st.patchCollect({ error: errorText(e) });
    }
  }

  /** Opens a finished job's trace set in the notebook. */
  async open(name: string): Promise<void> {
    try {
      const files = await this.need().traceFiles(name);
      this.openFiles(files);
      this.st.patchCollect({ opened: name, error: null });
    } catch (e) {
      this.st.patchCollect({ error: `opening the trace set of ${name}: ${errorText(e)}` });
    }
  }
}
