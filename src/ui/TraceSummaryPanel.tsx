import { useAppStore } from '../state/StoreContext';
import { EntropyChart } from './EntropyChart';
import { formatInt } from './format';

/** What the loaded trace set is, its shape and size, and its per-layer routing entropy. */
export function TraceSummaryPanel() {
  const summary = useAppStore((s) => (s.load.status === 'ready' ? s.load.summary : null));
  if (!summary) return null;
  const { manifest: m, stats } = summary;
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
      <h3>Routing entropy per MoE layer</h3>
      <EntropyChart entropyBits={stats.entropyBits} maxEntropyBits={stats.maxEntropyBits} layerIds={stats.moeLayerIds} />
    </section>
  );
}
