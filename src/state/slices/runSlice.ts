import type { StateCreator } from 'zustand/vanilla';
import type { ModelKind } from '../../core/experiment/spec';
import type { PredictorResult } from '../../core/predictors/evaluate';
import type { BackendReport, EpochMetrics, PredictorCost } from '../../workers/trainingClient';
import type { BaselineResult } from '../../workers/traceProtocol';
import type { NotebookState } from '../notebookStore';

export type TrainingStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'done' | 'error';

export interface TrainingState {
  status: TrainingStatus;
  /** Optimizer steps done and planned, for the progress line. */
  step: number;
  totalSteps: number;
  /** One entry per finished epoch (train and validation loss and recall per horizon step): the live curves. */
  epochs: EpochMetrics[];
  /** The backend training runs on and why better ones were not used, as the training worker reported it. */
  backend: BackendReport | null;
  /** The trained model scored on the test split, like the baselines. */
  result: PredictorResult | null;
  /** Which model this training trains (its kind, the key of its result), whatever the spec says now. */
  model: ModelKind | null;
  /** What the trained model costs at inference (size, time per token, the layer time), measured by the worker. */
  cost?: PredictorCost | null;
  error: string | null;
}

export const IDLE_TRAINING: TrainingState = { status: 'idle', step: 0, totalSteps: 0, epochs: [], backend: null, result: null, model: null, error: null };

export interface RunSlice {
  /** The experiment (spec without the view, and the load) the shown results belong to; a different one marks them stale. */
  runKey: string | null;
  /** Every baseline scored on the run's test split, computed in the trace worker. */
  baselines: BaselineResult | null;
  /** Whether the baselines are being scored or failed (with the reason, as text). */
  baselineStatus: { state: 'idle' | 'running' | 'error'; message?: string };
  /** The learned model's training: which model, live curves, backend and fallbacks, and its test result. */
  training: TrainingState;
  /** A new run of `model` (the spec's model kind when the run starts). */
  beginRun(key: string, model?: ModelKind | null): void;
  /** Shows a kept run's own results (an opened run): its model, curves and every predictor's test numbers. */
  showRun(key: string | null, training: TrainingState, baselines: BaselineResult | null): void;
  setBaselines(key: string, b: BaselineResult): void;
  failBaselines(key: string, message: string): void;
  updateTraining(key: string, patch: Partial<TrainingState>): void;
  addEpoch(key: string, m: EpochMetrics): void;
}

export const createRunSlice: StateCreator<NotebookState, [], [], RunSlice> = (set, get) => ({
  runKey: null,
  baselines: null,
  baselineStatus: { state: 'idle' },
  training: IDLE_TRAINING,
  beginRun: (runKey, model = null) =>
    set({ runKey, baselines: null, baselineStatus: { state: 'running' }, training: { ...IDLE_TRAINING, status: 'starting', model } }),
  showRun: (runKey, training, baselines) => set({ runKey, baselines, baselineStatus: { state: 'idle' }, training }),
  setBaselines(key, baselines) {
    if (get().runKey === key) set({ baselines, baselineStatus: { state: 'idle' } });
  },
  failBaselines(key, message) {
    if (get().runKey === key) set({ baselineStatus: { state: 'error', message } });
  },
  updateTraining(key, patch) {
    if (get().runKey === key) set((s) => ({ training: { ...s.training, ...patch } }));
  },
  addEpoch(key, m) {
    // A resumed run reports the epoch it was stopped in again: replace, never duplicate.
    if (get().runKey === key) set((s) => ({ training: { ...s.training, epochs: [...s.training.epochs.filter((e) => e.epoch !== m.epoch), m] } }));
  },
});
