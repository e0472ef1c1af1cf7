import { COMPARED_METRICS, compareRuns, type ComparedMetric } from '../../core/runs/compare';
import type { RunRecord } from '../../core/runs/record';
import { formatPct } from '../format';

const TITLES: Record<ComparedMetric, string> = { recallAtK: 'recall@k', exact: 'exact', top1: 'top-1', top3: 'top-3', top5: 'top-5' };

/** Signed difference in percentage points, e.g. "+1.3 pp". */
function formatDelta(d: number): string {
  const pp = d * 100;
  return `${pp > 0 ? '+' : pp < 0 ? '−' : '±'}${Math.abs(pp).toFixed(1)} pp`;
}

/** The selected runs' test metrics for one predictor, per horizon step, with differences from the pinned run. */
export function RunComparison({ runs, baselineId, predictor }: { runs: readonly RunRecord[]; baselineId: string | null; predictor: string }) {
  const rows = compareRuns(runs, baselineId, predictor);
  const steps = rows[0] ? rows[0].cells.length / COMPARED_METRICS.length : 0;
  return (
    <div className="table-scroll">
      <table className="results" data-testid="run-comparison">
        <thead>
          <tr>
            <th rowSpan={2}>run</th>
            <th rowSpan={2} className="nowrap">
              differs from pinned
            </th>
            {Array.from({ length: steps }, (_, h) => (
              <th key={h} colSpan={COMPARED_METRICS.length} className="group">
                layer l+{h + 1}
              </th>
            ))}
          </tr>
          <tr>{Array.from({ length: steps }, (_, h) => COMPARED_METRICS.map((m) => <th key={`${h}-${m}`}>{TITLES[m]}</th>))}</tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={row.id} data-testid="comparison-row" data-id={row.id} className={row.isBaseline ? 'pinned' : undefined}>
              <th scope="row">
                {runs[i].name}
                {row.isBaseline && <span className="muted small"> (pinned)</span>}
              </th>
              <td className="small" data-testid="comparison-changed">
                {row.isBaseline
                  ? '—'
                  : baselineId === null
                    ? 'pin a run to compare'
                    : row.changed.length === 0
                      ? 'same settings'
                      : row.changed.map((c) => `${c.key}: ${c.baseline} → ${c.value}`).join(', ')}
              </td>
              {row.cells.map((c) => (
                <td key={`${c.step}-${c.metric}`} className="num" data-metric={`${c.metric}@${c.step}`} data-value={c.value ?? ''} data-delta={c.delta ?? ''}>
                  {c.value === null ? '—' : formatPct(c.value)}
                  {c.delta !== null && !row.isBaseline && (
                    <span className={`small ${c.delta > 0 ? 'delta-up' : c.delta < 0 ? 'delta-down' : 'muted'}`}> {formatDelta(c.delta)}</span>
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
