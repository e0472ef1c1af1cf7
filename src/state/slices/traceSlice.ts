import type { StateCreator } from 'zustand/vanilla';
import type { LoadedInfo, LoadProgress } from '../../workers/traceProtocol';
import type { NotebookState } from '../notebookStore';

export interface LoadingState extends LoadProgress {
  id: number;
  label: string;
}

export interface TraceSlice {
  /** The trace set on screen (and held by the trace worker); kept when a later input is rejected, so nothing loaded is lost. */
  current: { id: number; info: LoadedInfo } | null;
  /** The input being read and its progress (bytes, tokens); null when nothing is loading. */
  loading: LoadingState | null;
  /** Why the last input was rejected (names the file, record and what was expected); cleared by the next load. */
  loadError: { label: string; message: string } | null;
  /** Counts loads, so an answer that arrives after a newer load started is recognised and dropped. */
  loadSeq: number;
  beginLoad(label: string): number;
  loadProgress(id: number, p: LoadProgress): void;
  finishLoad(id: number, info: LoadedInfo): void;
  /** `id` null: refused before any load started (e.g. a link's trace). */
  failLoad(id: number | null, label: string, message: string): void;
}

export const createTraceSlice: StateCreator<NotebookState, [], [], TraceSlice> = (set, get) => ({
  current: null,
  loading: null,
  loadError: null,
  loadSeq: 0,
  beginLoad(label) {
    const id = get().loadSeq + 1;
    set({ loadSeq: id, loading: { id, label, phase: 'reading', bytes: 0, tokens: 0 }, loadError: null });
    return id;
  },
  loadProgress(id, p) {
    if (get().loading?.id === id) set({ loading: { id, label: get().loading!.label, ...p } });
  },
  finishLoad(id, info) {
    if (get().loading?.id === id) set({ loading: null, current: { id, info } });
  },
  failLoad(id, label, message) {
    // `id` null: an input refused before any load started (a link's trace); a load in flight goes on.
    if (id === null) set({ loadError: { label, message } });
    else if (get().loading?.id === id) set({ loading: null, loadError: { label, message } });
  },
});
