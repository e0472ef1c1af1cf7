import type { PredictorResult } from '../../core/predictors/evaluate';
import type { LookaheadCurve } from '../../core/predictors/lookahead';
import { LineChart } from '../charts/LineChart';
import { formatPct } from '../format';
import { distanceChartData } from './lookaheadCurve';

/** Recall@k by distance: the lookahead gate's curve beside the learned model and the best other baseline. */
export function LookaheadChart({ rows, curve, label }: { rows: [string, PredictorResult][]; curve?: LookaheadCurve; label: (name: string) => string }) {
  const data = distanceChartData(rows, curve, label);
  if (!data) return null;
  return (
    <>
      <h3 data-testid="lookahead-heading">
        Recall@k by distance <span className="muted small">(the lookahead gate: layer l+h's router on layer l's input, as speculative loading prefetches)</span>
      </h3>
      <LineChart
        series={data.series}
        x={data.x}
        xTitle="layers ahead"
        yTitle="recall@k"
        yDomain={[0, 1]}
        yFormat={(v) => formatPct(v, 0)}
        ariaLabel="Recall@k of the lookahead gate, the learned model and the best other baseline by distance in layers"
        testId="lookahead-chart"
      />
    </>
  );
}
