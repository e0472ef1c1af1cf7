import type { StateCreator } from 'zustand/vanilla';
import type { AnalysisResult } from '../../workers/traceProtocol';
import type { NotebookState } from '../notebookStore';

export interface Analysis extends AnalysisResult {
  /** The load (TraceSlice.current.id) and dataset filter these numbers are for; a change asks for new ones. */
  traceId: number;
  datasetsKey: string;
}

export interface AnalysisSlice {
  /** Routing statistics and the co-activation / transition counts that every exploration view draws. */
  analysis: Analysis | null;
  /** Why the analyses failed for the current set and filter, as text. */
  analysisError: string | null;
  setAnalysis(a: Analysis): void;
  failAnalysis(message: string): void;
}

export const datasetsKey = (names: readonly string[]): string => JSON.stringify(names);

export const createAnalysisSlice: StateCreator<NotebookState, [], [], AnalysisSlice> = (set) => ({
  analysis: null,
  analysisError: null,
  setAnalysis: (analysis) => set({ analysis, analysisError: null }),
  failAnalysis: (analysisError) => set({ analysisError }),
});
