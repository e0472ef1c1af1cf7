import type { TraceStats } from './stats';

/** Columns of `speclab stats --csv`: one row per MoE layer. */
export const STATS_CSV_COLUMNS = [
  'layer',
  'model_layer',
  'tokens',
  'sequences',
  'experts',
  'top_k',
  'entropy_bits',
  'max_entropy_bits',
  'reuse_first',
  'reuse_any',
  'busiest_expert_share',
  'active_fraction',
  'load_cv',
  'load_normalized_entropy',
] as const;

/** The per-layer statistics as CSV (header, then one row per MoE layer; full precision, '.' decimals). */
export function statsToCsv(s: TraceStats): string {
  const rows: string[] = [STATS_CSV_COLUMNS.join(',')];
  const lb = s.loadBalance;
  for (let l = 0; l < s.layers; l++)
    rows.push(
      [
        l,
        s.moeLayerIds[l],
        s.tokens,
        s.sequences,
        s.experts,
        s.topK,
        s.entropyBits[l],
        s.maxEntropyBits,
        s.reuseFirst[l],
        s.reuseAny[l],
        lb.maxShare[l],
        lb.activeFraction[l],
        lb.cv[l],
        lb.normalizedEntropy[l],
      ]
        .map(String)
        .join(','),
    );
  return rows.join('\n') + '\n';
}

/** The human table of `speclab stats`: per-layer entropy, reuse and load balance. */
export function statsTable(s: TraceStats, modelName: string): string {
  const lb = s.loadBalance;
  const lines = [
    `${modelName}: ${s.tokens} tokens (${s.droppedTokens} dropped), ${s.sequences} sequences, ${s.layers} layers x ${s.experts} experts top-${s.topK}`,
    'layer\tentropy bits\treuseFirst\treuseAny\tbusiest\tactive\tload CV\tload H/Hmax',
  ];
  s.entropyBits.forEach((h, l) =>
    lines.push(
      `${s.moeLayerIds[l]}\t${h.toFixed(3)}\t${s.reuseFirst[l].toFixed(3)}\t${s.reuseAny[l].toFixed(3)}\t${lb.maxShare[l].toFixed(3)}\t${lb.activeFraction[l].toFixed(3)}\t${lb.cv[l].toFixed(3)}\t${lb.normalizedEntropy[l].toFixed(3)}`,
    ),
  );
  return lines.join('\n') + '\n';
}
