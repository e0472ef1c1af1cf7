import { useMemo, useState } from 'react';
import { Heatmap } from '../charts/Heatmap';
import { LayerSelect } from '../controls/LayerSelect';
import { formatPct } from '../format';
import { useAnalysis, useLayer } from '../hooks';

/**
 * Lift of each expert pair at one layer: P(e and f both chosen) / (P(e chosen) · P(f chosen)), from the pair counts
 * and the experts' selection shares (utilisation × k = share of tokens choosing the expert). 1 is what choosing the
 * experts independently, at their own frequencies, would give; the diagonal (a pair with itself) is left at 0.
 */
export function coactivationLift(
  pairs: ArrayLike<number>,
  offset: number,
  E: number,
  tokens: number,
  utilisation: readonly number[],
  topK: number,
): Float64Array {
  const out = new Float64Array(E * E);
  if (tokens <= 0) return out;
  for (let e = 0; e < E; e++)
    for (let f = 0; f < E; f++) {
      const pe = utilisation[e] * topK;
      const pf = utilisation[f] * topK;
      out[e * E + f] = e === f || pe <= 0 || pf <= 0 ? 0 : pairs[offset + e * E + f] / tokens / (pe * pf);
    }
  return out;
}

/** Which experts fire together: for a chosen layer, the share of tokens whose top-k holds both e and f, or its lift. */
export function CoactivationPanel() {
  const analysis = useAnalysis();
  const layer = useLayer(analysis?.stats.layers ?? 0);
  const [measure, setMeasure] = useState<'share' | 'lift'>('share');
  const lift = useMemo(
    () =>
      analysis && measure === 'lift'
        ? coactivationLift(
            analysis.coactivation,
            layer * analysis.stats.experts ** 2,
            analysis.stats.experts,
            analysis.stats.tokens,
            analysis.stats.utilisation[layer] ?? [],
            analysis.stats.topK,
          )
        : null,
    [analysis, measure, layer],
  );
  if (!analysis) return null;
  const { stats, coactivation } = analysis;
  const E = stats.experts;
  const tokens = stats.tokens || 1;
  return (
    <section className="card" data-testid="coactivation-panel">
      <h2>Expert-pair co-activation</h2>
      <LayerSelect count={stats.layers} value={layer} layerIds={stats.moeLayerIds} label={(id) => `layer ${id}`} testId="coactivation-layer" />
      <label className="control small">
        Measure{' '}
        <select data-testid="coactivation-measure" value={measure} onChange={(e) => setMeasure(e.currentTarget.value as 'share' | 'lift')}>
          <option value="share">share of tokens</option>
          <option value="lift">lift over independent choice</option>
        </select>
      </label>
      <p className="muted small" data-testid="coactivation-caption">
        {measure === 'share'
          ? `Each cell: the share of tokens whose top-${stats.topK} holds both experts e and f.`
          : `Each cell: how much more often e and f are chosen together than if each token chose them independently at their own frequencies (1 = as often as independent; above 1: together more often, below 1: less). The diagonal is left at 0.`}
      </p>
      {stats.topK < 2 ? (
        <p className="muted">Top-1 routing: no two experts are ever chosen together.</p>
      ) : (
        <Heatmap
          values={lift ?? coactivation}
          offset={lift ? 0 : layer * E * E}
          rows={E}
          cols={E}
          rowTitle="expert e"
          colTitle="expert f"
          format={lift ? (v) => `${v.toFixed(2)}×` : (v) => formatPct(v / tokens, 2)}
          ariaLabel={`${lift ? 'Co-activation lift' : 'Co-activation'} of expert pairs at layer ${stats.moeLayerIds[layer] ?? layer}`}
          testId="coactivation-heatmap"
        />
      )}
    </section>
  );
}
