import { useMemo, useState } from 'react';
import { useNotebook } from '../../state/StoreContext';
import { EntropyChart } from '../charts/EntropyChart';
import { Heatmap } from '../charts/Heatmap';
import { UtilisationChart } from '../charts/UtilisationChart';
import { LayerSelect } from '../controls/LayerSelect';
import { formatInt, formatPct } from '../format';
import { useAnalysis, useLayer } from '../hooks';
import { LoadBalance } from './LoadBalance';

/** What the trace set is, its size and shape, per-layer routing entropy and expert utilisation. */
export function OverviewPanel() {
  const info = useNotebook((s) => s.current?.info ?? null);
  const analysis = useAnalysis();
  const [zoom, setZoom] = useState(false);
  const layer = useLayer(analysis?.stats.layers ?? 0);
  const setLayer = useNotebook((st) => st.setLayer);
  // One flat array per analysis, so the heatmap repaints only when the numbers change.
  const utilisation = useMemo(() => (analysis ? Float64Array.from(analysis.stats.utilisation.flat()) : null), [analysis]);
  if (!info || !analysis || !utilisation) return null;
  const { manifest: m } = info;
  const { stats } = analysis;
  const rows: [label: string, testId: string, value: string][] = [
    ['Model', 'model', m.model.revision ? `${m.model.name} @ ${m.model.revision}` : m.model.name],
    ['Engine', 'engine', m.engine],
    ['Quantization', 'quantization', m.quantization],
    ['Tokens', 'tokens', formatInt(stats.tokens)],
    ['Sequences', 'sequences', formatInt(stats.sequences)],
    ['Dropped tokens', 'dropped', formatInt(stats.droppedTokens)],
    ['MoE layers', 'layers', formatInt(stats.layers)],
    ['Experts per layer', 'experts', formatInt(stats.experts)],
    ['Top-k', 'topk', formatInt(stats.topK)],
    ['Datasets', 'datasets', stats.datasets.join(', ') || '—'],
  ];
  return (
    <section className="card" data-testid="trace-summary">
      <h2>Trace set</h2>
      <p data-testid="summary-description">{m.description ?? 'No description in the manifest.'}</p>
      <dl className="facts">
        {rows.map(([label, id, value]) => (
          <div key={id}>
            <dt>{label}</dt>
            <dd data-testid={`summary-${id}`}>{value}</dd>
          </div>
        ))}
      </dl>
      {!m.hasWeights && (
        <p className="field-error small" role="note" data-testid="weight-order-warning">
          This trace has no routing weights: each token&apos;s expert list is in the order the trace stored it, which need not be weight order. Metrics of the
          first choice (top-1, same first choice in Reuse) then describe list order, not the strongest expert; recall@k and co-activation do not depend on the
          order.
        </p>
      )}
      {info.imported && (
        <p className="muted small" data-testid="import-note">
          Imported from {formatInt(info.imported.files)} {info.imported.format} file(s): {formatInt(info.imported.records)} records,{' '}
          {formatInt(info.imported.droppedTokens)} incomplete tokens dropped.
        </p>
      )}
      {info.skipped.length > 0 && (
        <p className="muted small" data-testid="skipped-note">
          Not read (not routing data):{' '}
          {info.skipped
            .slice(0, 8)
            .map((f, i) => (info.skippedReasons?.[i] ? `${f} (${info.skippedReasons[i]})` : f))
            .join(', ')}
          {info.skipped.length > 8 && ` and ${info.skipped.length - 8} more`}
        </p>
      )}
      {info.origin === 'url' && (
        <p className="muted small" data-testid="cache-note">
          Shards: {info.cache.hits} from the browser cache, {info.cache.misses} fetched{info.cache.cacheOff ? ` (${info.cache.cacheOff})` : ''}.
        </p>
      )}
      <h3>Routing entropy per MoE layer</h3>
      <label className="control small">
        <input type="checkbox" data-testid="entropy-zoom" checked={zoom} onChange={(e) => setZoom(e.currentTarget.checked)} /> Zoom the scale to the
        layers&apos; range (bars start below the lowest layer, not at 0)
      </label>
      <EntropyChart entropyBits={stats.entropyBits} maxEntropyBits={stats.maxEntropyBits} layerIds={stats.moeLayerIds} zoom={zoom} />
      <h3>Expert utilisation</h3>
      <p className="muted small">Share of each layer&apos;s top-k selections that go to each expert; uniform use is {formatPct(1 / stats.experts)}.</p>
      <Heatmap
        values={utilisation}
        rows={stats.layers}
        cols={stats.experts}
        rowTitle="layer"
        colTitle="expert"
        rowLabel={(l) => String(stats.moeLayerIds[l] ?? l)}
        format={(v) => formatPct(v)}
        ariaLabel="Expert utilisation per layer"
        testId="utilisation-heatmap"
        onCellClick={(r) => setLayer(r)}
      />
      <h3>Utilisation against uniform use, one layer</h3>
      <p className="muted small">
        Each expert&apos;s share of the layer&apos;s selections divided by uniform use ({formatPct(1 / stats.experts, 2)}): bars up are chosen more often, bars
        down less, on a log₂ scale. The layer is the one the co-activation and token views show; click a row of the heatmap above to choose it.
      </p>
      <LayerSelect count={stats.layers} value={layer} layerIds={stats.moeLayerIds} label={(id) => `layer ${id}`} testId="utilisation-layer" />
      <UtilisationChart shares={stats.utilisation[layer] ?? []} layerName={`layer ${stats.moeLayerIds[layer] ?? layer}`} />
      <LoadBalance stats={stats} />
    </section>
  );
}
