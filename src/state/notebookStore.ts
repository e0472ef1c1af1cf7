import { createStore, type StoreApi } from 'zustand/vanilla';
import { createAnalysisSlice, type AnalysisSlice } from './slices/analysisSlice';
import { createCollectSlice, type CollectSlice } from './slices/collectSlice';
import { createExperimentSlice, type ExperimentSlice } from './slices/experimentSlice';
import { createGpuSlice, type GpuSlice } from './slices/gpuSlice';
import { createRunSlice, type RunSlice } from './slices/runSlice';
import { createRunsSlice, type RunsSlice } from './slices/runsSlice';
import { createTraceSlice, type TraceSlice } from './slices/traceSlice';

/** Everything one notebook shows; each slice in its own file, each field with the reason it exists. */
export type NotebookState = ExperimentSlice & TraceSlice & AnalysisSlice & RunSlice & GpuSlice & RunsSlice & CollectSlice;
export type NotebookStore = StoreApi<NotebookState>;

/** One store per notebook (tests and embeds can mount several), handed down through context. */
export function createNotebookStore(): NotebookStore {
  return createStore<NotebookState>()((...a) => ({
    ...createExperimentSlice(...a),
    ...createTraceSlice(...a),
    ...createAnalysisSlice(...a),
    ...createRunSlice(...a),
    ...createGpuSlice(...a),
    ...createRunsSlice(...a),
    ...createCollectSlice(...a),
  }));
}
