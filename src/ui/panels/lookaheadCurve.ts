/**
 * The lookahead curve beside the learned model: recall@k at 1, 2, ... layers ahead for the lookahead gate (over the
 * trace's lookahead horizon, mixtral-offloading's Fig. 2 protocol), the trained model and the best other baseline
 * (over the task's horizon), on the run's test split.
 */
import type { PredictorResult } from '../../core/predictors/evaluate';
import { LOOKAHEAD, type LookaheadCurve } from '../../core/predictors/lookahead';
import type { Series } from '../charts/LineChart';

export interface DistanceChartData {
  /** x labels: "l+1", "l+2", ... */
  x: string[];
  series: Series[];
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / (a.length || 1);

/**
 * The chart's lines from the results table's rows (name → result) and the lookahead gate's curve; null when the run
 * scored no lookahead gate. A kept run reopened has no curve: the gate's row (the task's horizon) stands in.
 */
export function distanceChartData(
  rows: [name: string, result: PredictorResult][],
  curve: LookaheadCurve | undefined,
  label: (name: string) => string,
): DistanceChartData | null {
  const gate = rows.find(([n]) => n === LOOKAHEAD)?.[1];
  if (!gate) return null;
  const gateValues = curve?.recallAtK ?? gate.recallAtK;
  const learned = rows.find(([, r]) => r.kind === 'learned');
  const others = rows.filter(([n, r]) => r.kind === 'baseline' && n !== LOOKAHEAD);
  const best = others.length ? others.reduce((a, b) => (mean(b[1].recallAtK) > mean(a[1].recallAtK) ? b : a)) : undefined;
  const D = Math.max(gateValues.length, ...rows.map(([, r]) => r.recallAtK.length));
  const pad = (v: number[]) => Array.from({ length: D }, (_, i) => v[i] ?? null);
  const series: Series[] = [{ name: 'lookahead gate', values: pad(gateValues), className: 's2' }];
  if (learned) series.push({ name: label(learned[0]), values: pad(learned[1].recallAtK), className: 's1' });
  if (best) series.push({ name: `${label(best[0])} (best other baseline)`, values: pad(best[1].recallAtK), className: 's1', dashed: true });
  return { x: Array.from({ length: D }, (_, i) => `l+${i + 1}`), series };
}
