import type { StateCreator } from 'zustand/vanilla';
import type { RunRecord } from '../../core/runs/record';
import type { NotebookState } from '../notebookStore';

export interface RunsSlice {
  /** Every kept run (IndexedDB), oldest first. */
  runs: RunRecord[];
  /** Runs drawn on the overlay chart and listed in the comparison table. */
  runsSelected: string[];
  /** The pinned run every other is compared with; null: no differences shown. */
  runsBaseline: string | null;
  /** EMA weight of the overlay curves, [0, 0.95]. */
  runsSmoothing: number;
  /** The last thing that happened to the kept runs (saved, imported, failed), with what to do next on failure. */
  runsNote: { kind: 'info' | 'error' | 'busy'; text: string } | null;
  setRuns(runs: RunRecord[]): void;
  upsertRun(run: RunRecord): void;
  removeRun(id: string): void;
  toggleRunSelected(id: string): void;
  pinBaseline(id: string | null): void;
  setRunsSmoothing(w: number): void;
  setRunsNote(note: RunsSlice['runsNote']): void;
}

export const createRunsSlice: StateCreator<NotebookState, [], [], RunsSlice> = (set) => ({
  runs: [],
  runsSelected: [],
  runsBaseline: null,
  runsSmoothing: 0.6,
  runsNote: null,
  setRuns: (runs) => set({ runs }),
  upsertRun: (run) =>
    set((s) => {
      const i = s.runs.findIndex((r) => r.id === run.id);
      if (i < 0) return { runs: [...s.runs, run].sort((a, b) => a.createdAt - b.createdAt), runsSelected: [...s.runsSelected, run.id] };
      const runs = s.runs.slice();
      runs[i] = run;
      return { runs };
    }),
  removeRun: (id) =>
    set((s) => ({
      runs: s.runs.filter((r) => r.id !== id),
      runsSelected: s.runsSelected.filter((x) => x !== id),
      runsBaseline: s.runsBaseline === id ? null : s.runsBaseline,
    })),
  toggleRunSelected: (id) => set((s) => ({ runsSelected: s.runsSelected.includes(id) ? s.runsSelected.filter((x) => x !== id) : [...s.runsSelected, id] })),
  pinBaseline: (runsBaseline) => set({ runsBaseline }),
  setRunsSmoothing: (w) => set({ runsSmoothing: Math.min(0.95, Math.max(0, w)) }),
  setRunsNote: (runsNote) => set({ runsNote }),
});
