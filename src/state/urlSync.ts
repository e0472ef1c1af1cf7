/**
 * Keeps the experiment spec and the URL hash in step: the hash is read at start and on every hashchange
 * (a pasted link), and rewritten (replaceState, no history entry) whenever the spec changes. A link's problems
 * are shown, never acted on; a refused trace loads nothing. Links of every known version are read (compact
 * version-2 ones too); the address bar shows the readable version 1, "Copy link" gives the compact form.
 */
import { decodeLinkHash } from '../core/experiment/compactLink';
import { encodeSpecHash } from '../core/experiment/url';
import type { NotebookStore } from './notebookStore';
import type { TraceController } from './traceController';

/** The raw `trace=` value of a hash (first one), for showing what was refused; bounded. */
function rawTrace(hash: string): string {
  const m = /(?:^|[#&])trace=([^&]{0,400})/.exec(hash.slice(0, 8192));
  if (!m) return '';
  try {
    return decodeURIComponent(m[1].replace(/\+/g, ' '));
  } catch {
    return m[1];
  }
}

export function syncUrl(store: NotebookStore, traces: TraceController, win: Window): () => void {
  let written: string | null = null;
  const readHash = () => {
    const hash = win.location.hash;
    if (hash.replace(/^#/, '') === written) return; // our own write coming back
    const d = decodeLinkHash(hash);
    const traceProblem = d.problems.trace;
    const st = store.getState();
    st.applyLink(d.spec, traceProblem ? d.messages.filter((m) => m !== traceProblem) : d.messages);
    if (traceProblem) st.failLoad(null, rawTrace(hash), traceProblem);
    else traces.openTrace(d.spec.trace);
  };
  const write = () => {
    const hash = encodeSpecHash(store.getState().spec);
    if (hash === win.location.hash.replace(/^#/, '')) return;
    written = hash;
    win.history.replaceState(win.history.state, '', `#${hash}`);
  };
  readHash();
  const unsubscribe = store.subscribe((s, prev) => {
    if (s.spec !== prev.spec) write();
  });
  write();
  win.addEventListener('hashchange', readHash);
  return () => {
    unsubscribe();
    win.removeEventListener('hashchange', readHash);
  };
}
