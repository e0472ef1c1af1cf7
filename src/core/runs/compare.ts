/**
 * Runs against a pinned baseline run: every metric of one predictor per horizon step, with its difference from
 * the baseline's, and which experiment settings differ. Pure.
 */
import type { PredictorResult } from '../predictors/evaluate';
import type { ExperimentSpec } from '../experiment/spec';
import { keyText, URL_KEYS, type UrlKeyName } from '../experiment/url';
import { resultOf } from './names';

export const COMPARED_METRICS = ['recallAtK', 'exact', 'top1', 'top3', 'top5'] as const;
export type ComparedMetric = (typeof COMPARED_METRICS)[number];

/** What a comparison needs of a run. */
export interface ComparableRun {
  id: string;
  spec: ExperimentSpec;
  results: Record<string, PredictorResult>;
}

export interface MetricCell {
  metric: ComparedMetric;
  /** 1-based horizon step (layer l+step). */
  step: number;
  value: number | null;
  /** value - the baseline run's value; null when either is missing, 0 for the baseline itself. */
  delta: number | null;
}

export interface ComparisonRow {
  id: string;
  isBaseline: boolean;
  cells: MetricCell[];
  /** Settings that differ from the baseline run (link keys, view keys left out). */
  changed: { key: UrlKeyName; value: string; baseline: string }[];
}

/** Keys of the view (what is shown, not what is computed): never a difference between runs. */
const VIEW_KEYS = new Set<string>(['panel', 'layer']);

export function specDifferences(spec: ExperimentSpec, baseline: ExperimentSpec): ComparisonRow['changed'] {
  const out: ComparisonRow['changed'] = [];
  for (const d of URL_KEYS) {
    if (VIEW_KEYS.has(d.key) || d.key === 'v') continue;
    const value = keyText(spec, d.key);
    const base = keyText(baseline, d.key);
    if (value !== base) out.push({ key: d.key, value, baseline: base });
  }
  return out;
}

/** Horizon steps shown: the most any of the runs has for the predictor (`TRAINED_MODEL`: each run's own model). */
export function stepsOf(runs: readonly ComparableRun[], predictor: string): number {
  return Math.max(0, ...runs.map((r) => resultOf(r, predictor)?.recallAtK.length ?? 0));
}

/**
 * One row per run (in the given order), `predictor`'s metrics (`TRAINED_MODEL`: each run's own model) per horizon step and their differences from the
 * baseline run; without a baseline (or one not among the runs) every delta is null.
 */
export function compareRuns(runs: readonly ComparableRun[], baselineId: string | null, predictor: string): ComparisonRow[] {
  const base = runs.find((r) => r.id === baselineId) ?? null;
  const steps = stepsOf(runs, predictor);
  return runs.map((run) => {
    const r = resultOf(run, predictor);
    const b = base && resultOf(base, predictor);
    const cells: MetricCell[] = [];
    for (let h = 0; h < steps; h++)
      for (const metric of COMPARED_METRICS) {
        const value = r?.[metric][h] ?? null;
        const bv = b?.[metric][h] ?? null;
        cells.push({ metric, step: h + 1, value, delta: value !== null && bv !== null ? value - bv : null });
      }
    return { id: run.id, isBaseline: base !== null && run.id === base.id, cells, changed: base && run !== base ? specDifferences(run.spec, base.spec) : [] };
  });
}
