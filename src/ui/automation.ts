/**
 * `window.speclab`: the page's automation interface for headless regression runs (src/regress/run.ts) and tests.
 * It only exposes what the buttons do (run the experiment in the URL) and what the page shows (its numbers).
 */
import type { NotebookController } from '../state/controller';
import { faultInjectionEnabled, type Fault } from '../state/faults';
import type { NotebookStore } from '../state/notebookStore';

export interface AutomationRun {
  /** The tfjs backend the model trained on, null when training failed before choosing one. */
  backend: string | null;
  /** Predictor name → result on the test split (the learned model under its kind: "interlayer", "joint", …). */
  results: Record<string, unknown>;
  curves: { epoch: number; trainLoss: number; valLoss?: number; trainRecall: number[]; valRecall?: number[] }[];
  /** Why training or the baselines failed, if they did. */
  errors: string[];
}

/** What the scale benchmark (bench/bench.ts) reads: the loaded set, the analysis on screen, training progress. */
export interface AutomationFigures {
  tokens: number;
  bytes: number;
  /** Time the trace worker spent decoding shards, when known. */
  decodeMs: number | null;
  analysis: { datasetsKey: string; ms: number; threads: number; stats: unknown; coactivation: Float64Array; transitions: Float64Array } | null;
  training: { status: string; step: number; totalSteps: number; error: string | null };
}

export interface Automation {
  /** True once the trace set named by the URL is loaded and analysed. */
  readonly ready: boolean;
  /** Null until a trace set is loaded. */
  readonly figures: AutomationFigures | null;
  run(): Promise<AutomationRun>;
}

export function installAutomation(store: NotebookStore, controller: NotebookController, win: Window): void {
  const api: Automation = {
    get ready() {
      const s = store.getState();
      return s.current !== null && s.analysis?.traceId === s.current.id && s.loading === null;
    },
    get figures() {
      const s = store.getState();
      if (!s.current) return null;
      const a = s.analysis?.traceId === s.current.id ? s.analysis : null;
      const { status, step, totalSteps, error } = s.training;
      return {
        tokens: s.current.info.tokens,
        bytes: s.current.info.bytes,
        decodeMs: s.current.info.decodeMs ?? null,
        analysis: a && { datasetsKey: a.datasetsKey, ms: a.ms, threads: a.threads, stats: a.stats, coactivation: a.coactivation, transitions: a.transitions },
        training: { status, step, totalSteps, error },
      };
    },
    async run() {
      await controller.run();
      const s = store.getState();
      const results: Record<string, unknown> = { ...(s.baselines?.results ?? {}) };
      if (s.training.result) results[s.training.model ?? s.spec.model.kind] = s.training.result;
      const errors = [s.training.error, s.baselineStatus.message].filter((e): e is string => Boolean(e));
      return {
        backend: s.training.backend?.backend ?? null,
        results,
        curves: s.training.epochs.map((e) => ({
          epoch: e.epoch,
          trainLoss: e.trainLoss,
          trainRecall: e.trainRecall,
          ...(e.valLoss !== null && { valLoss: e.valLoss }),
          ...(e.valRecall !== null && { valRecall: e.valRecall }),
        })),
        errors,
      };
    },
  };
  // Fault injection for tests, only where this browser turned it on (src/state/faults.ts).
  if (faultInjectionEnabled()) Object.assign(api, { injectFault: (kind: Fault) => controller.injectFault(kind) });
  Object.defineProperty(win, 'speclab', { value: api, configurable: true });
}
