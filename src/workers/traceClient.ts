/**
 * The page's side of the trace worker. Every input loads in a fresh worker under a time budget; only when it
 * loaded does that worker replace the one holding the current trace set. A worker that overruns its budget
 * (a hostile file can send a decoder into a very long loop) is terminated and the input reported as rejected,
 * while the page keeps what it had loaded.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { labelOfPaths } from './setLabel';
import type {
  AnalysisResult,
  BaselineResult,
  LoadedInfo,
  LoadProgress,
  LoadRequest,
  SplitData,
  SplitRequest,
  TokenRequest,
  TokenWindow,
  TraceWorkerApi,
} from './traceProtocol';

export interface Budget {
  /** A load is rejected when the worker reports no progress for this long. */
  stallMs: number;
  /** Analyses and baselines on a loaded set must answer within this. */
  callMs: number;
}

export const DEFAULT_BUDGET: Budget = { stallMs: 20_000, callMs: 120_000 };

/** A budget, or where to read it when each load or call starts (a browser setting may change meanwhile). */
export type BudgetSource = Budget | (() => Budget);

/** The longest silence any input may buy with its size (a 512 MB import), so nothing hangs for ever. */
const MAX_QUIET_MS = 600_000;

interface Handle {
  worker: Worker;
  api: Remote<TraceWorkerApi>;
  /** Rejects when the worker dies (script error, out of memory). */
  died: Promise<never>;
}

function spawn(): Handle {
  const worker = new Worker(new URL('./trace.worker.ts', import.meta.url), { type: 'module', name: 'trace' });
  const died = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      reject(new Error(`the trace worker failed: ${ev.message || 'script error (out of memory?)'}`));
    });
  });
  died.catch(() => {});
  return { worker, api: wrap<TraceWorkerApi>(worker), died };
}

function kill(h: Handle): void {
  h.api[releaseProxy]();
  h.worker.terminate();
}

/** Thrown when a newer load replaced this one before it finished; callers ignore it. */
export class Superseded extends Error {
  constructor() {
    super('superseded by a newer load');
  }
}

export class TraceClient {
  /** The worker holding the trace set on screen. */
  private active: Handle | null = null;
  /** The worker loading the next input, if any. */
  private pending: Handle | null = null;
  /** Counts load() calls: a call that waited while a newer one started gives way to it. */
  private generation = 0;

  /** Called when the worker holding the loaded set dies (a crash, out of memory): its set is gone. */
  onCrash: (message: string) => void = () => {};
  /** Why there is no active worker after a crash, until the next load. */
  private crashed: string | null = null;

  constructor(private readonly budgetSource: BudgetSource = DEFAULT_BUDGET) {}

  private get budget(): Budget {
    return typeof this.budgetSource === 'function' ? this.budgetSource() : this.budgetSource;
  }

  /** Tests only (src/state/faults.ts): the active worker fails as a crashed one does (stopped, an error event). */
  injectCrash(): boolean {
    const h = this.active;
    if (!h) return false;
    h.worker.terminate();
    h.worker.dispatchEvent(new ErrorEvent('error', { message: 'injected fault: the trace worker crashed' }));
    return true;
  }

  /**
   * Loads `req` in a new worker. On success that worker becomes the active one (the old one is ended); on
   * failure, overrun or supersession the new worker is ended and the active one stays.
   */
  async load(req: LoadRequest, label: string, onProgress: (p: LoadProgress) => void): Promise<LoadedInfo> {
    const generation = ++this.generation;
    if (this.pending) kill(this.pending);
    this.pending = null;
    // Starting a worker costs the main thread a few to tens of ms: give it a task of its own.
    await new Promise((r) => setTimeout(r, 0));
    if (generation !== this.generation) throw new Superseded();
    const h = spawn();
    this.pending = h;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let rejectStall: (e: Error) => void = () => {};
    const stalled = new Promise<never>((_, reject) => (rejectStall = reject));
    const arm = (quietMs = 0) => {
      clearTimeout(timer);
      const ms = Math.min(MAX_QUIET_MS, Math.max(this.budget.stallMs, quietMs));
      timer = setTimeout(() => rejectStall(new Error(`${label}: rejected — no progress for ${ms / 1000} s, so the reader was stopped (malformed input?)`)), ms);
    };
    arm();
    try {
      const info = await Promise.race([
        h.api.load(
          req,
          proxy((p: LoadProgress) => {
            arm(p.quietMs);
            if (this.pending === h) onProgress(p);
          }),
        ),
        stalled,
        h.died,
      ]);
      if (this.pending !== h) throw new Superseded();
      if (this.active) kill(this.active);
      this.active = h;
      this.pending = null;
      this.crashed = null;
      h.died.catch((e: unknown) => {
        if (this.active !== h) return;
        this.active = null;
        kill(h);
        const why = e instanceof Error ? e.message : String(e);
        this.crashed = `${why}; the trace set it held is gone from memory: open it again`;
        this.onCrash(why);
      });
      return info;
    } catch (e) {
      kill(h);
      if (this.pending !== h) throw new Superseded();
      this.pending = null;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a call on the active worker under the call budget; an overrun ends the worker (its set is gone). */
  private async call<T>(what: string, f: (api: Remote<TraceWorkerApi>) => Promise<T>): Promise<T> {
    const h = this.active;
    if (!h) throw new Error(this.crashed ?? 'no trace set is loaded');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.active === h) this.active = null;
        kill(h);
        reject(new Error(`${what} took longer than ${this.budget.callMs / 1000} s and was stopped; load the trace set again`));
      }, this.budget.callMs);
    });
    try {
      return await Promise.race([f(h.api), overrun, h.died]);
    } finally {
      clearTimeout(timer);
    }
  }

  analyze(datasets: string[]): Promise<AnalysisResult> {
    return this.call('the analysis', (api) => api.analyze(datasets));
  }

  baselines(req: SplitRequest): Promise<BaselineResult> {
    return this.call('the baselines', (api) => api.baselines(req));
  }

  splitData(req: SplitRequest): Promise<SplitData> {
    return this.call('splitting the trace set', (api) => api.splitData(req));
  }

  tokens(req: TokenRequest): Promise<TokenWindow> {
    return this.call('reading tokens', (api) => api.tokens(req));
  }

  dispose(): void {
    if (this.pending) kill(this.pending);
    if (this.active) kill(this.active);
    this.pending = this.active = null;
  }
}

/** Short label of a load request, for messages. */
export function describeRequest(req: LoadRequest): string {
  if (req.kind === 'url') return req.baseUrl;
  return labelOfPaths(req.files.map((f) => f.path || f.file.name));
}
