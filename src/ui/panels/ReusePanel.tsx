import { LineChart } from '../charts/LineChart';
import { formatPct } from '../format';
import { useAnalysis, useManifest } from '../hooks';

/** Chance that two independent uniform top-k sets of E experts overlap: 1 - C(E-K, K) / C(E, K). */
function chanceAny(E: number, K: number): number {
  let none = 1;
  for (let i = 0; i < K; i++) none *= (E - K - i) / (E - i);
  return 1 - Math.max(0, none);
}

/**
 * Temporal reuse: how often consecutive tokens of a sequence choose the same experts, per layer; below it the tokens
 * themselves, each with every layer's experts (the token view).
 */
export function ReusePanel() {
  const analysis = useAnalysis();
  const manifest = useManifest();
  if (!analysis) return null;
  const { stats } = analysis;
  const L = stats.layers;
  const flat = (v: number) => Array.from({ length: L }, () => v);
  return (
    <>
      <section className="card" data-testid="reuse-panel">
        <h2>Temporal reuse per layer</h2>
        <p className="muted small">
          Over {stats.consecutivePairs.toLocaleString('en-US')} consecutive token pairs: the share with the same first-choice expert, and the share whose top-
          {stats.topK} sets overlap. Dashed: what uniform random routing would give.
        </p>
        {manifest && !manifest.hasWeights && (
          <p className="field-error small" data-testid="reuse-order-warning">
            No routing weights in this trace: the &quot;first choice&quot; is the first expert of each stored list, which need not be the strongest.
          </p>
        )}
        <LineChart
          series={[
            { name: 'same first choice', values: stats.reuseFirst, className: 's1' },
            { name: `any of top-${stats.topK} shared`, values: stats.reuseAny, className: 's2' },
            { name: 'first choice, uniform chance', values: flat(1 / stats.experts), className: 's1', dashed: true },
            { name: 'any shared, uniform chance', values: flat(chanceAny(stats.experts, stats.topK)), className: 's2', dashed: true },
          ]}
          x={stats.moeLayerIds}
          xTitle="layer"
          yTitle="share of pairs"
          yDomain={[0, 1]}
          yFormat={(v) => formatPct(v, 0)}
          tipFormat={(v) => formatPct(v, 2)}
          ariaLabel="Temporal reuse per layer"
          testId="reuse-chart"
        />
      </section>
    </>
  );
}
