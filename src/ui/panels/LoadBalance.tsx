import type { TraceStats } from '../../core/analysis/stats';
import { formatPct } from '../format';

/**
 * Expert-load balance per MoE layer: the busiest expert's share, the share of experts used, the coefficient of
 * variation and the normalised entropy of the load (1 = even). The least balanced layer is named up front.
 */
export function LoadBalance({ stats }: { stats: TraceStats }) {
  const lb = stats.loadBalance;
  if (!lb || lb.maxShare.length === 0) return null;
  let worst = 0;
  lb.maxShare.forEach((v, l) => (v > lb.maxShare[worst] ? (worst = l) : undefined));
  const layer = (l: number) => String(stats.moeLayerIds[l] ?? l);
  return (
    <>
      <h3>Load balance per MoE layer</h3>
      <p className="muted small" data-testid="load-balance-summary">
        Busiest expert: {formatPct(lb.maxShare[worst])} of layer {layer(worst)}&apos;s selections (even use is {formatPct(1 / stats.experts)}); load CV{' '}
        {lb.cv[worst].toFixed(2)}, normalised entropy {lb.normalizedEntropy[worst].toFixed(3)} there.
      </p>
      <details>
        <summary className="small">Every layer</summary>
        <table className="small" data-testid="load-balance-table">
          <thead>
            <tr>
              <th>layer</th>
              <th>busiest expert</th>
              <th>experts used</th>
              <th>load CV</th>
              <th>H / Hmax</th>
            </tr>
          </thead>
          <tbody>
            {lb.maxShare.map((v, l) => (
              <tr key={l}>
                <td>{layer(l)}</td>
                <td>{formatPct(v)}</td>
                <td>{formatPct(lb.activeFraction[l])}</td>
                <td>{lb.cv[l].toFixed(2)}</td>
                <td>{lb.normalizedEntropy[l].toFixed(3)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
