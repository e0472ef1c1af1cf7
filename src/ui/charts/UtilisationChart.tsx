import { scaleBand, scaleLinear } from 'd3';
import { useEffect, useMemo, useState, type MouseEvent } from 'react';
import { ChartExport } from '../export/ChartExport';
import { formatPct } from '../format';
import { tickIndices } from './ticks';
import { Tooltip, useTip } from './Tooltip';
import { clampedLog2, clampRange, factorLabel, ratioSpan, utilisationBars, zoomRange, type UtilisationOrder } from './utilisation';

const W = 640;
const H = 250;
const M = { top: 26, right: 14, bottom: 36, left: 56 };

interface Props {
  /** [expert] share of the layer's top-k selections. */
  shares: readonly number[];
  /** The layer's label, e.g. "layer 5". */
  layerName: string;
}

/**
 * One layer's expert utilisation centred on uniform use: bars up for experts chosen more often than 1/E, down for
 * less, on a log2 scale (×2 up is as far as ×½ down). Sorted by expert id or busiest first; drag across the bars
 * (or use the buttons) to zoom into a range of experts, the scale fitting the bars shown.
 */
export function UtilisationChart({ shares, layerName }: Props) {
  const E = shares.length;
  const [order, setOrder] = useState<UtilisationOrder>('expert');
  const [range, setRange] = useState<[number, number]>([0, E]);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const { tip, show, hide } = useTip();
  // A new layer or shape keeps the order but starts unzoomed when the experts changed.
  useEffect(() => setRange([0, E]), [E, order]);
  const bars = useMemo(() => utilisationBars(shares, order), [shares, order]);
  const [a, b] = clampRange(range[0], range[1], E);
  const shown = bars.slice(a, b);
  const span = ratioSpan(shown);
  const x = scaleBand<number>()
    .domain(shown.map((_, i) => i))
    .range([M.left, W - M.right])
    .padding(shown.length > 40 ? 0.08 : 0.18);
  const y = scaleLinear()
    .domain([-span, span])
    .range([H - M.bottom, M.top]);
  const y0 = y(0);
  const ticks = Array.from({ length: 2 * span + 1 }, (_, i) => i - span).filter((t) => span <= 4 || t % 2 === 0);
  const labelled = new Set(tickIndices(shown.length));
  const uniform = E > 0 ? 1 / E : 0;
  const title = `Expert utilisation at ${layerName} against uniform use (${formatPct(uniform, 2)} each)`;

  const indexAt = (ev: MouseEvent<SVGSVGElement>): number | null => {
    const box = ev.currentTarget.getBoundingClientRect();
    const ux = ((ev.clientX - box.left) / box.width) * W;
    if (ux < M.left || ux > W - M.right || shown.length === 0) return null;
    const step = x.step();
    return Math.max(0, Math.min(shown.length - 1, Math.floor((ux - M.left - x.paddingOuter() * step) / step)));
  };
  const onMove = (ev: MouseEvent<SVGSVGElement>) => {
    const i = indexAt(ev);
    if (drag && i !== null) setDrag({ ...drag, to: i });
    const bar = i === null ? null : shown[i];
    show(
      ev,
      bar
        ? [
            `expert ${bar.expert} at ${layerName}`,
            `${formatPct(bar.share, 3)} of the selections`,
            `${bar.ratio.toFixed(3)}× uniform (${formatPct(uniform, 3)})`,
            ...(order === 'share' ? [`rank ${a + i! + 1} of ${E}`] : []),
          ]
        : null,
    );
  };
  const onUp = () => {
    if (drag && drag.from !== drag.to) setRange(clampRange(a + Math.min(drag.from, drag.to), a + Math.max(drag.from, drag.to) + 1, E));
    setDrag(null);
  };
  const csv = () => ({ header: ['rank', 'expert', 'share', 'ratio_to_uniform'], rows: bars.map((bar, i) => [i + 1, bar.expert, bar.share, bar.ratio]) });
  const sel = drag ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : null;
  const zoomed = a > 0 || b < E;

  return (
    <>
      <div className="chart-controls small">
        <label className="control">
          Order{' '}
          <select data-testid="utilisation-order" value={order} onChange={(e) => setOrder(e.currentTarget.value as UtilisationOrder)}>
            <option value="expert">by expert id</option>
            <option value="share">busiest first</option>
          </select>
        </label>
        <button
          type="button"
          className="small"
          data-testid="utilisation-zoom-in"
          disabled={b - a <= Math.min(2, E)}
          onClick={() => setRange(zoomRange([a, b], E, 'in'))}
        >
          Zoom in
        </button>
        <button type="button" className="small" data-testid="utilisation-zoom-out" disabled={!zoomed} onClick={() => setRange(zoomRange([a, b], E, 'out'))}>
          Zoom out
        </button>
        <button type="button" className="small" data-testid="utilisation-zoom-reset" disabled={!zoomed} onClick={() => setRange([0, E])}>
          All experts
        </button>
        <span className="muted" data-testid="utilisation-range">
          {zoomed
            ? `${order === 'share' ? 'ranks' : 'experts'} ${order === 'share' ? a + 1 : bars[a]?.expert}–${order === 'share' ? b : bars[b - 1]?.expert} of ${E}`
            : `all ${E} experts`}
          {' · drag across the bars to zoom'}
        </span>
      </div>
      <ChartExport name="utilisation-chart" title={title} csv={csv}>
        <figure
          className="utilisation-chart"
          data-testid="utilisation-chart"
          data-tip-host=""
          data-order={shown.map((s) => s.expert).join(',')}
          data-span={span}
        >
          <svg
            viewBox={`0 0 ${W} ${H}`}
            role="img"
            aria-label={title}
            onMouseMove={onMove}
            onMouseLeave={() => {
              hide();
              setDrag(null);
            }}
            onMouseDown={(ev) => {
              const i = indexAt(ev);
              if (i !== null) {
                ev.preventDefault();
                setDrag({ from: i, to: i });
              }
            }}
            onMouseUp={onUp}
          >
            <text className="chart-title" x={M.left} y={14}>
              {title}
            </text>
            {ticks.map((t) => (
              <g key={t} className={t === 0 ? 'tick uniform' : 'tick'}>
                <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
                <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                  {factorLabel(t)}
                </text>
              </g>
            ))}
            {shown.map((bar, i) => {
              const v = clampedLog2(bar.ratio, span);
              return (
                <rect
                  key={bar.expert}
                  className={bar.ratio >= 1 ? 'bar over' : 'bar under'}
                  data-testid="utilisation-bar"
                  data-expert={bar.expert}
                  x={x(i)}
                  width={x.bandwidth()}
                  y={Math.min(y0, y(v))}
                  height={Math.max(0.5, Math.abs(y(v) - y0))}
                >
                  <title>{`expert ${bar.expert}: ${formatPct(bar.share, 3)}, ${bar.ratio.toFixed(3)}× uniform`}</title>
                </rect>
              );
            })}
            {sel && (
              <rect
                className="zoom-selection"
                x={x(sel[0])}
                width={(x(sel[1]) ?? 0) + x.bandwidth() - (x(sel[0]) ?? 0)}
                y={M.top}
                height={H - M.top - M.bottom}
              />
            )}
            {shown.map((bar, i) =>
              labelled.has(i) ? (
                <text key={bar.expert} className="axis-label" x={(x(i) ?? 0) + x.bandwidth() / 2} y={H - M.bottom + 14} textAnchor="middle">
                  {bar.expert}
                </text>
              ) : null,
            )}
            <text className="axis-title" x={(M.left + W - M.right) / 2} y={H - 6} textAnchor="middle">
              {order === 'share' ? 'expert (busiest first)' : 'expert'}
            </text>
            <text className="axis-title" transform={`translate(14,${(M.top + H - M.bottom) / 2}) rotate(-90)`} textAnchor="middle">
              share ÷ uniform (log₂)
            </text>
          </svg>
          <Tooltip tip={tip} testId="utilisation-chart-tooltip" />
        </figure>
      </ChartExport>
    </>
  );
}
