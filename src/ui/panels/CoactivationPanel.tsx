import { Heatmap } from '../charts/Heatmap';
import { LayerSelect } from '../controls/LayerSelect';
import { formatPct } from '../format';
import { useAnalysis, useLayer } from '../hooks';

/** Which experts fire together: for a chosen layer, the share of tokens whose top-k holds both e and f. */
export function CoactivationPanel() {
  const analysis = useAnalysis();
  const layer = useLayer(analysis?.stats.layers ?? 0);
  if (!analysis) return null;
  const { stats, coactivation } = analysis;
  const E = stats.experts;
  const tokens = stats.tokens || 1;
  return (
    <section className="card" data-testid="coactivation-panel">
      <h2>Expert-pair co-activation</h2>
      <LayerSelect count={stats.layers} value={layer} layerIds={stats.moeLayerIds} label={(id) => `layer ${id}`} testId="coactivation-layer" />
      {stats.topK < 2 ? (
        <p className="muted">Top-1 routing: no two experts are ever chosen together.</p>
      ) : (
        <Heatmap
          values={coactivation}
          offset={layer * E * E}
          rows={E}
          cols={E}
          rowTitle="expert e"
          colTitle="expert f"
          format={(v) => formatPct(v / tokens, 2)}
          ariaLabel={`Co-activation of expert pairs at layer ${stats.moeLayerIds[layer] ?? layer}`}
          testId="coactivation-heatmap"
        />
      )}
    </section>
  );
}
