/**
 * Typed client of the collector's job server (`speclab-collect serve`, collector/speclab_collect/server.py).
 *
 * The user pastes the URL the server prints (`http://127.0.0.1:8765/?token=…`). The token stays in this
 * object: every request carries it in the Authorization header (never in a URL), so it appears neither in the
 * experiment link nor in any request line; event streams are read with fetch for the same reason (EventSource
 * cannot send headers). Every answer is checked with zod before use; a failure is a CollectError that says
 * what went wrong and where.
 */
import { z } from 'zod';

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['done', 'failed', 'cancelled'];

/** The last event of a job's run (`--progress jsonl`): progress, start, resumed, loading, done, error, … */
export const jobProgressSchema = z
  .object({
    event: z.string(),
    tokens: z.number().optional(),
    total: z.number().optional(),
    tokensPerSec: z.number().nullable().optional(),
    etaSec: z.number().nullable().optional(),
    message: z.string().optional(),
  })
  .passthrough();
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const jobSchema = z.object({
  name: z.string(),
  spec: z.record(z.string(), z.unknown()),
  status: z.enum(JOB_STATUSES),
  progress: jobProgressSchema.nullable(),
  error: z.string().nullable(),
  created: z.number(),
  updated: z.number(),
  trace: z.string(),
});
export type Job = z.infer<typeof jobSchema>;

const datasetEntry = z.union([
  z.string().min(1),
  z.object({ source: z.string().min(1), budget: z.union([z.number().int().positive(), z.string()]).optional(), label: z.string().optional() }).strict(),
]);

/** What the panel submits; the server validates it again (and knows more: existing files, model families). */
export const jobSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"),
    model: z.string().min(1).max(4096),
    datasets: z.array(datasetEntry).min(1).max(64),
    tokenizer: z.string().min(1).max(200).optional(),
    seqLen: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(1).optional(),
    shardTokens: z.number().int().min(1).optional(),
    dtype: z.enum(['bf16', 'fp16', 'fp32']).optional(),
    quantization: z.enum(['none', 'int8', 'int4']).optional(),
    allowUnquantizedExperts: z.boolean().optional(),
    gpuMemory: z.string().optional(),
    cpuMemory: z.string().optional(),
    lookahead: z.number().int().min(0).max(64).optional(),
    threads: z.number().int().min(1).optional(),
    description: z.string().max(200).optional(),
  })
  .strict();
export type JobSpec = z.infer<typeof jobSpecSchema>;

const healthSchema = z.object({ ok: z.literal(true), version: z.string() });
const jobsSchema = z.object({ jobs: z.array(jobSchema) });
const oneJobSchema = z.object({ job: jobSchema });
const errorSchema = z.object({ error: z.string() });
const manifestFilesSchema = z.object({ shards: z.array(z.object({ file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.arrow$/) })) });

export class CollectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CollectError';
  }
}

export interface Connection {
  /** Origin of the server, e.g. http://127.0.0.1:8765 (no token). */
  base: string;
  token: string;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The printed URL `http://127.0.0.1:PORT/?token=T` → where to connect and with which token. */
export function parseServerUrl(text: string): Connection {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new CollectError('not a URL: paste the line `speclab-collect serve` printed, like http://127.0.0.1:8765/?token=…');
  }
  if (url.protocol !== 'http:') throw new CollectError(`the collector serves http on this machine, not ${url.protocol.replace(':', '')}`);
  if (!LOCAL_HOSTS.has(url.hostname)) throw new CollectError(`the collector listens on 127.0.0.1 only, not on ${url.hostname}`);
  const token = url.searchParams.get('token') ?? '';
  if (!token) throw new CollectError('the URL has no ?token=…: paste the whole URL the server printed');
  if (!/^[A-Za-z0-9._~-]{8,200}$/.test(token)) throw new CollectError('the token in the URL is malformed');
  return { base: url.origin, token };
}

/** Which run of a job a name refers to; URL-path safe by the server's own name rule. */
const jobPath = (name: string) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new CollectError(`job name ${JSON.stringify(name)} is not valid`);
  return `/api/jobs/${name}`;
};

export class CollectClient {
  readonly base: string;
  readonly #token: string;

  constructor(conn: Connection) {
    this.base = conn.base;
    this.#token = conn.token;
  }

  static fromUrl(text: string): CollectClient {
    return new CollectClient(parseServerUrl(text));
  }

  async #request(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        ...init,
        signal,
        headers: { Authorization: `token ${this.#token}`, ...(init.headers as Record<string, string> | undefined) },
        cache: 'no-store',
      });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new CollectError(`cannot reach the collector at ${this.base} (${(e as Error).message}); is \`speclab-collect serve\` running?`);
    }
    if (!res.ok) {
      let detail = `HTTP ${res.status}`;
      try {
        const body = errorSchema.safeParse(await res.json());
        if (body.success) detail = body.data.error;
      } catch {
        /* not JSON: the status says enough */
      }
      const hint = res.status === 401 ? ' (the token is wrong or from an earlier server: paste the URL it printed this time)' : '';
      throw new CollectError(`${path.split('?')[0]}: ${detail}${hint}`, res.status);
    }
    return res;
  }

  async #json<T>(path: string, schema: z.ZodType<T>, init?: RequestInit): Promise<T> {
    const res = await this.#request(path, init);
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new CollectError(`${path}: the answer is not JSON`);
    }
    const r = schema.safeParse(body);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new CollectError(`${path}: unexpected answer (${issue.path.join('.') || 'body'}: ${issue.message})`);
    }
    return r.data;
  }

  #post<T>(path: string, schema: z.ZodType<T>, body: unknown = {}): Promise<T> {
    return this.#json(path, schema, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** Checks the connection and the token; the server's version. */
  async health(): Promise<string> {
    return (await this.#json('/api/health', healthSchema)).version;
  }

  async listJobs(): Promise<Job[]> {
    return (await this.#json('/api/jobs', jobsSchema)).jobs;
  }

  async job(name: string): Promise<Job> {
    return (await this.#json(jobPath(name), oneJobSchema)).job;
  }

  async submit(spec: JobSpec): Promise<Job> {
    const r = jobSpecSchema.safeParse(spec);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new CollectError(`job ${issue.path.join('.') || 'spec'}: ${issue.message}`);
    }
    return (await this.#post('/api/jobs', oneJobSchema, r.data)).job;
  }

  async cancel(name: string): Promise<Job> {
    return (await this.#post(`${jobPath(name)}/cancel`, oneJobSchema)).job;
  }

  async resume(name: string): Promise<Job> {
    return (await this.#post(`${jobPath(name)}/resume`, oneJobSchema)).job;
  }

  async log(name: string): Promise<string> {
    return (await this.#request(`${jobPath(name)}/log`)).text();
  }

  /**
   * Follows a job's Server-Sent Events: calls onJob with each state until the job ends (done, failed,
   * cancelled) or `signal` aborts. Resolves with the last state.
   */
  async watch(name: string, onJob: (job: Job) => void, signal?: AbortSignal): Promise<Job | null> {
    const res = await this.#request(`${jobPath(name)}/events`, {}, signal);
    if (!res.body) throw new CollectError(`${jobPath(name)}/events: no event stream`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let last: Job | null = null;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return last;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (!data) continue; // a keep-alive comment
          let parsed: unknown;
          try {
            parsed = JSON.parse(data);
          } catch {
            throw new CollectError(`${jobPath(name)}/events: an event is not JSON`);
          }
          const r = jobSchema.safeParse(parsed);
          if (!r.success) throw new CollectError(`${jobPath(name)}/events: unexpected event (${r.error.issues[0].message})`);
          last = r.data;
          onJob(last);
          if (TERMINAL_STATUSES.includes(last.status)) return last;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  /**
   * Downloads a finished job's trace set (manifest.json and the shards it lists) as files named
   * `<job>/<file>`, ready for the notebook's own loader (which checks checksums and contents).
   */
  async traceFiles(name: string): Promise<{ path: string; file: File }[]> {
    jobPath(name);
    const manifestText = await (await this.#request(`/traces/${name}/manifest.json`)).text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(manifestText);
    } catch {
      throw new CollectError(`/traces/${name}/manifest.json: not JSON`);
    }
    const m = manifestFilesSchema.safeParse(parsed);
    if (!m.success) throw new CollectError(`/traces/${name}/manifest.json: no valid shard list (${m.error.issues[0].message})`);
    const out = [{ path: `${name}/manifest.json`, file: new File([manifestText], 'manifest.json', { type: 'application/json' }) }];
    for (const s of m.data.shards) {
      const bytes = await (await this.#request(`/traces/${name}/${s.file}`)).arrayBuffer();
      out.push({ path: `${name}/${s.file}`, file: new File([bytes], s.file) });
    }
    return out;
  }
}

/** "1,234 / 5,000 tokens · 812 tokens/s · ETA 5 s" for a job's last progress event. */
export function describeProgress(job: Job): string {
  const p = job.progress;
  if (!p) return job.status === 'queued' ? 'waiting for its turn' : '';
  if (p.event === 'error' || p.event === 'loading' || p.event === 'planning') return p.message ?? p.event;
  const parts: string[] = [];
  if (typeof p.tokens === 'number' && typeof p.total === 'number' && p.total > 0)
    parts.push(`${p.tokens.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} tokens (${Math.floor((100 * p.tokens) / p.total)}%)`);
  else if (typeof p.tokens === 'number') parts.push(`${p.tokens.toLocaleString('en-US')} tokens`);
  if (typeof p.tokensPerSec === 'number' && p.tokensPerSec > 0) parts.push(`${Math.round(p.tokensPerSec).toLocaleString('en-US')} tokens/s`);
  if (typeof p.etaSec === 'number' && job.status === 'running') parts.push(`ETA ${formatSeconds(p.etaSec)}`);
  return parts.join(' · ') || (p.message ?? p.event);
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
