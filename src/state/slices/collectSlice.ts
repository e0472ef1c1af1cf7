import type { StateCreator } from 'zustand/vanilla';
import type { Job } from '../collectClient';
import type { NotebookState } from '../notebookStore';

export interface CollectState {
  /** The collector connected to (its origin and version); its token stays in the controller's client, in memory. */
  server: { base: string; version: string } | null;
  /** The server's jobs, as listed and then as their event streams report them. */
  jobs: Job[];
  /** The last failed action (follow, open, cancel, resume, log), as text; null once one succeeds. */
  error: string | null;
  /** Open a watched job's trace set in the notebook when it finishes. */
  openWhenDone: boolean;
  /** The job whose trace set was opened last. */
  opened: string | null;
  /** Logs shown, by job (the last 4000 characters). */
  logs: Record<string, string>;
}

export const IDLE_COLLECT: CollectState = { server: null, jobs: [], error: null, openWhenDone: true, opened: null, logs: {} };

export interface CollectSlice {
  collect: CollectState;
  patchCollect(patch: Partial<CollectState>): void;
  /** A job's new state: replaces the one of that name, or is added at the end. */
  upsertJob(job: Job): void;
}

export const createCollectSlice: StateCreator<NotebookState, [], [], CollectSlice> = (set) => ({
  collect: IDLE_COLLECT,
  patchCollect: (patch) => set((s) => ({ collect: { ...s.collect, ...patch } })),
  upsertJob: (job) =>
    set((s) => {
      const list = s.collect.jobs;
      const jobs = list.some((j) => j.name === job.name) ? list.map((j) => (j.name === job.name ? job : j)) : [...list, job];
      return { collect: { ...s.collect, jobs } };
    }),
});
