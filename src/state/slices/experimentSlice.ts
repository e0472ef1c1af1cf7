import type { StateCreator } from 'zustand/vanilla';
import { defaultSpec, type ExperimentSpec, type Panel } from '../../core/experiment/spec';
import { withKeyValue, type UrlKeyName } from '../../core/experiment/url';
import type { NotebookState } from '../notebookStore';

export interface ExperimentSlice {
  /** The whole experiment (trace, filters, task, model, seed, backend, view); mirrored into the URL hash, so a copied link replays it. */
  spec: ExperimentSpec;
  /** Problems found in the link that opened the page (or a hash typed in later), shown as text until the next link. */
  linkMessages: string[];
  /** Replaces the spec with one read from a link, with that link's problems. */
  applyLink(spec: ExperimentSpec, messages: string[]): void;
  /** Sets one field from its text form (as a link holds it); returns the reason when refused (spec unchanged). */
  setField(key: UrlKeyName, text: string): string | null;
  setPanel(panel: Panel): void;
  setLayer(layer: number): void;
  setTrace(trace: string): void;
  setDatasets(names: string[]): void;
  dismissLinkMessages(): void;
}

export const createExperimentSlice: StateCreator<NotebookState, [], [], ExperimentSlice> = (set, get) => ({
  spec: defaultSpec(),
  linkMessages: [],
  applyLink: (spec, messages) => set({ spec, linkMessages: messages }),
  setField(key, text) {
    const r = withKeyValue(get().spec, key, text);
    if (!r.ok) return r.message;
    set({ spec: r.spec });
    return null;
  },
  setPanel: (panel) => set((s) => ({ spec: { ...s.spec, view: { ...s.spec.view, panel } } })),
  setLayer: (layer) => set((s) => ({ spec: { ...s.spec, view: { ...s.spec.view, layer } } })),
  setTrace: (trace) => set((s) => ({ spec: { ...s.spec, trace } })),
  setDatasets: (datasets) => set((s) => ({ spec: { ...s.spec, datasets } })),
  dismissLinkMessages: () => set({ linkMessages: [] }),
});
