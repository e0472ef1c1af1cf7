import type { EpochMetrics } from '../../workers/trainingClient';
import { LineChart } from '../charts/LineChart';
import { formatPct } from '../format';

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / (a.length || 1);

/** Live training curves: recall@k (mean over the horizon steps) on the training batches and the validation split, per epoch. */
export function AccuracyChart({ epochs }: { epochs: EpochMetrics[] }) {
  const sorted = [...epochs].sort((a, b) => a.epoch - b.epoch);
  const hasVal = sorted.some((e) => e.valRecall !== null);
  return (
    <LineChart
      series={[
        { name: 'train recall@k', values: sorted.map((e) => mean(e.trainRecall)), className: 's1' },
        ...(hasVal ? [{ name: 'validation recall@k', values: sorted.map((e) => (e.valRecall ? mean(e.valRecall) : null)), className: 's2' }] : []),
      ]}
      x={sorted.map((e) => e.epoch)}
      xTitle="epoch"
      yTitle="recall@k"
      yDomain={[0, 1]}
      yFormat={(v) => formatPct(v, 0)}
      ariaLabel="Training and validation accuracy per epoch"
      testId="accuracy-chart"
    />
  );
}
