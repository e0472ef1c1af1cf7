import { useMemo } from 'react';
import { Heatmap } from '../charts/Heatmap';
import { LayerSelect } from '../controls/LayerSelect';
import { formatPct } from '../format';
import { useAnalysis, useLayer } from '../hooks';

/** Row-normalised: P(f among the top-k at layer l+1 | e among the top-k at layer l), rows summing to 1. */
function conditional(counts: Float64Array, offset: number, E: number): Float64Array {
  const out = new Float64Array(E * E);
  for (let e = 0; e < E; e++) {
    let sum = 0;
    for (let f = 0; f < E; f++) sum += counts[offset + e * E + f];
    if (sum > 0) for (let f = 0; f < E; f++) out[e * E + f] = counts[offset + e * E + f] / sum;
  }
  return out;
}

/** How routing moves between consecutive layers: the inter-layer transition heatmap for l → l+1. */
export function TransitionsPanel() {
  const analysis = useAnalysis();
  const pairs = Math.max(0, (analysis?.stats.layers ?? 0) - 1);
  const layer = useLayer(pairs);
  const E = analysis?.stats.experts ?? 0;
  const values = useMemo(() => (analysis && pairs > 0 ? conditional(analysis.transitions, layer * E * E, E) : null), [analysis, pairs, layer, E]);
  if (!analysis) return null;
  const ids = analysis.stats.moeLayerIds;
  return (
    <section className="card" data-testid="transitions-panel">
      <h2>Inter-layer transitions</h2>
      {values === null ? (
        <p className="muted">This trace set has a single MoE layer: there are no layer pairs.</p>
      ) : (
        <>
          <LayerSelect count={pairs} value={layer} layerIds={ids} label={(id, i) => `layer ${id} → ${ids[i + 1] ?? i + 1}`} testId="transition-layer" />
          <p className="muted small">Each row e: where tokens that chose expert e at the first layer go at the next (rows sum to 100%).</p>
          <Heatmap
            values={values}
            rows={E}
            cols={E}
            rowTitle={`expert at layer ${ids[layer] ?? layer}`}
            colTitle={`expert at layer ${ids[layer + 1] ?? layer + 1}`}
            format={(v) => formatPct(v)}
            ariaLabel={`Transitions from layer ${ids[layer] ?? layer} to the next`}
            testId="transition-heatmap"
          />
        </>
      )}
    </section>
  );
}
