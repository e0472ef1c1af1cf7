import { computeStats } from '../core/analysis/stats';
import { fetchSource, readTraceSet } from '../core/trace/read';
import { probeWebGpuInWorker } from '../workers/probeWebGpuInWorker';
import { probeWebGpu } from '../workers/webgpuProbe';
import type { AppStore } from './appStore';
import { traceLocationFromHash } from './traceLocation';

/**
 * Side effects that feed the store, kept out of React components (and so out of StrictMode's
 * double effects): load the trace set named by the hash now and on every hash change, and probe WebGPU.
 * Returns a function that stops listening.
 */
export function startApp(store: AppStore, win: Window = window): () => void {
  const loadFromHash = () => {
    const loc = traceLocationFromHash(win.location.hash, win.location.href, import.meta.env.BASE_URL);
    if (!loc.ok) {
      store.getState().rejectLocation(new URLSearchParams(win.location.hash.slice(1)).get('trace') ?? '', loc.message);
      return;
    }
    void loadTrace(store, loc.url);
  };
  win.addEventListener('hashchange', loadFromHash);
  loadFromHash();
  void probeWebGpu().then((r) => store.getState().setGpu('page', r));
  void probeWebGpuInWorker().then((r) => store.getState().setGpu('worker', r));
  return () => win.removeEventListener('hashchange', loadFromHash);
}

/** Reads the trace set in the page (a worker takes this over later) and stores its summary. */
export async function loadTrace(store: AppStore, url: string): Promise<void> {
  const { beginLoad, progress, finishLoad, failLoad } = store.getState();
  const id = beginLoad(url);
  try {
    const set = await readTraceSet(fetchSource(url), { onProgress: (p) => progress(id, p.bytes, p.tokens) });
    finishLoad(id, { manifest: set.manifest, stats: computeStats(set) });
  } catch (e) {
    failLoad(id, e instanceof Error ? e.message : String(e));
  }
}
