import { createStore, type StoreApi } from 'zustand/vanilla';
import type { TraceStats } from '../core/analysis/stats';
import type { Manifest } from '../core/trace/types';
import type { WebGpuReport } from '../workers/webgpuProbe';

/** What the page shows about one loaded trace set: its manifest and summary statistics (no token arrays). */
export interface TraceSummary {
  manifest: Manifest;
  stats: TraceStats;
}

export type LoadState =
  | { status: 'idle' }
  | { status: 'loading'; bytes: number; tokens: number }
  | { status: 'ready'; summary: TraceSummary }
  | { status: 'error'; message: string };

export interface AppState {
  /** The trace set being shown (base URL from #trace=…, or the demo); shown in the header and in error messages. */
  traceUrl: string;
  /**
   * Increments on every load; a load that finishes after a newer one started (the hash changed
   * meanwhile) sees a different id and drops its result instead of overwriting the newer one.
   */
  loadId: number;
  /** Progress, result or failure of the current load; drives the loading line, the summary and the error box. */
  load: LoadState;
  /** WebGPU on the main thread, null until the probe answers; tells people which tfjs backends can run here. */
  gpuPage: WebGpuReport | null;
  /** WebGPU in a dedicated worker (where analyses will run), null until the worker answers. */
  gpuWorker: WebGpuReport | null;
}

export interface AppActions {
  /** Starts a new load of `url`; returns its id for the later progress/finish calls. */
  beginLoad(url: string): number;
  /** Fails before anything is fetched (a rejected #trace= URL). */
  rejectLocation(raw: string, message: string): void;
  progress(id: number, bytes: number, tokens: number): void;
  finishLoad(id: number, summary: TraceSummary): void;
  failLoad(id: number, message: string): void;
  setGpu(where: 'page' | 'worker', report: WebGpuReport): void;
}

export type AppStore = StoreApi<AppState & AppActions>;

export function createAppStore(): AppStore {
  return createStore<AppState & AppActions>()((set, get) => ({
    traceUrl: '',
    loadId: 0,
    load: { status: 'idle' },
    gpuPage: null,
    gpuWorker: null,

    beginLoad(url) {
      const id = get().loadId + 1;
      set({ traceUrl: url, loadId: id, load: { status: 'loading', bytes: 0, tokens: 0 } });
      return id;
    },
    rejectLocation(raw, message) {
      set({ traceUrl: raw, loadId: get().loadId + 1, load: { status: 'error', message } });
    },
    progress(id, bytes, tokens) {
      if (id === get().loadId) set({ load: { status: 'loading', bytes, tokens } });
    },
    finishLoad(id, summary) {
      if (id === get().loadId) set({ load: { status: 'ready', summary } });
    },
    failLoad(id, message) {
      if (id === get().loadId) set({ load: { status: 'error', message } });
    },
    setGpu(where, report) {
      set(where === 'page' ? { gpuPage: report } : { gpuWorker: report });
    },
  }));
}
