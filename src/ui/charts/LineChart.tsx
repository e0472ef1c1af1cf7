import { line, scaleLinear, scalePoint } from 'd3';
import type { MouseEvent } from 'react';
import type { CsvTable } from '../../core/export/chartFiles';
import { ChartExport } from '../export/ChartExport';
import { tickIndices } from './ticks';
import { Tooltip, useTip } from './Tooltip';

export interface Series {
  name: string;
  /** One value per x position; null leaves a gap. */
  values: (number | null)[];
  /** CSS class of the line and its legend swatch (colours live in app.css). */
  className: string;
  dashed?: boolean;
}

export interface LineChartProps {
  series: Series[];
  /** Labels of the x positions (layer ids, epochs). */
  x: (string | number)[];
  xTitle: string;
  yTitle: string;
  /** Fixed y range; [0, max of the data] when absent. */
  yDomain?: [number, number];
  yFormat?: (v: number) => string;
  /** A value as the tooltip says it; the axis format with the number to 4 decimals beside it when absent. */
  tipFormat?: (v: number) => string;
  ariaLabel: string;
  testId: string;
}

const W = 640;
const H = 240;
const M = { top: 26, right: 14, bottom: 34, left: 46 };

/** The chart's numbers: one row per x position, one column per series. */
export function lineChartCsv(series: Series[], x: (string | number)[], xTitle: string): CsvTable {
  return { header: [xTitle, ...series.map((s) => s.name)], rows: x.map((xv, i) => [xv, ...series.map((s) => s.values[i] ?? null)]) };
}

/** Width of a legend item, in viewBox units: the swatch, the gap and the name at up to 7 units a character (14 px serif included). */
const legendItemWidth = (name: string) => 26 + name.length * 7;

/**
 * The in-drawing legend's places: rows right of the y-axis title (never over it), as many as the names need
 * within the width (never cut off). Returns each item's offset and the number of rows.
 */
export function legendLayout(names: string[], yTitle: string): { left: number; items: { x: number; row: number }[]; rows: number } {
  const left = Math.max(M.left, 4 + yTitle.length * 7 + 16);
  const avail = W - M.right - left;
  let x = 0;
  let row = 0;
  const items = names.map((n) => {
    const w = legendItemWidth(n);
    if (x > 0 && x + w > avail) {
      row++;
      x = 0;
    }
    const at = { x, row };
    x += w;
    return at;
  });
  return { left, items, rows: names.length ? row + 1 : 0 };
}

/** Lines over shared x positions; d3 computes scales and paths, React renders the SVG. */
export function LineChart({ series, x, xTitle, yTitle, yDomain, yFormat = (v) => String(v), tipFormat, ariaLabel, testId }: LineChartProps) {
  const tipText = tipFormat ?? ((v: number) => (yFormat(v) === String(v) ? String(v) : `${yFormat(v)} (${Number(v.toFixed(4))})`));
  const xs = scalePoint<number>()
    .domain(x.map((_, i) => i))
    .range([M.left, W - M.right])
    .padding(x.length === 1 ? 0.5 : 0.1);
  let top = 0;
  for (const s of series) for (const v of s.values) if (v !== null) top = Math.max(top, v);
  const legend = legendLayout(
    series.map((s) => s.name),
    yTitle,
  );
  // Rows beyond the first (which sits beside the y title) push the plot down.
  const plotTop = M.top + Math.max(0, legend.rows - 1) * 15;
  const y = scaleLinear()
    .domain(yDomain ?? [0, top || 1])
    .range([H - M.bottom, plotTop])
    .nice();
  const path = line<number | null>()
    .defined((v) => v !== null)
    .x((_, i) => xs(i) ?? 0)
    .y((v) => y(v ?? 0));
  const { tip, show, hide } = useTip();
  // The x position nearest the cursor, with every series' value there.
  const onMove = (ev: MouseEvent<SVGSVGElement>) => {
    const box = ev.currentTarget.getBoundingClientRect();
    const ux = ((ev.clientX - box.left) / box.width) * W;
    const i = nearestIndex(ux, x.length, (j) => xs(j) ?? 0);
    if (i === null || ux < M.left - 8 || ux > W - M.right + 8) return show(ev, null);
    show(ev, [`${xTitle} ${x[i]}`, ...series.map((s) => `${s.name}: ${s.values[i] === null ? '—' : tipText(s.values[i] as number)}`)]);
  };

  return (
    <ChartExport name={testId} title={ariaLabel} csv={() => lineChartCsv(series, x, xTitle)}>
      <figure className="line-chart" data-testid={testId} data-tip-host="">
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={ariaLabel} onMouseMove={onMove} onMouseLeave={hide}>
          {y.ticks(5).map((t) => (
            <g key={t} className="tick">
              <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
              <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {yFormat(t)}
              </text>
            </g>
          ))}
          {tickIndices(x.length).map((i) => (
            <text key={i} className="axis-label" x={xs(i)} y={H - M.bottom + 14} textAnchor="middle">
              {x[i]}
            </text>
          ))}
          <text className="axis-title" x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle">
            {xTitle}
          </text>
          <text className="axis-title" x={4} y={15}>
            {yTitle}
          </text>
          {series.map((s) => (
            <g key={s.name} className={`series ${s.className}`} data-testid={`${testId}-series`} data-name={s.name}>
              <path d={path(s.values) ?? ''} strokeDasharray={s.dashed ? '5 4' : undefined} />
              {s.values.map((v, i) =>
                v === null ? null : (
                  <circle key={i} cx={xs(i)} cy={y(v)} r={x.length > 40 ? 1.5 : 3}>
                    <title>{`${s.name} at ${x[i]}: ${yFormat(v)}`}</title>
                  </circle>
                ),
              )}
            </g>
          ))}
          {/* The legend inside the drawing, for exported files (on screen the caption below is the legend). */}
          <g className="svg-legend" data-export-only="">
            {series.map((s, i) => {
              const at = legend.items[i];
              return (
                <g key={s.name} className={`series ${s.className}`} transform={`translate(${legend.left + at.x},${11 + at.row * 15})`}>
                  <path d="M0 0 H16" strokeDasharray={s.dashed ? '5 4' : undefined} />
                  <text x={20} dy="0.32em">
                    {s.name}
                  </text>
                </g>
              );
            })}
          </g>
        </svg>
        <Tooltip tip={tip} testId={`${testId}-tooltip`} />
        <figcaption className="legend">
          {series.map((s) => (
            <span key={s.name} className={`legend-item ${s.className}${s.dashed ? ' dashed' : ''}`}>
              <i aria-hidden="true" />
              {s.name}
            </span>
          ))}
        </figcaption>
      </figure>
    </ChartExport>
  );
}

/** The index of n positions (at px(i), increasing) nearest to ux; null when there are none. */
export function nearestIndex(ux: number, n: number, px: (i: number) => number): number | null {
  if (n <= 0) return null;
  let best = 0;
  for (let i = 1; i < n; i++) if (Math.abs(px(i) - ux) < Math.abs(px(best) - ux)) best = i;
  return best;
}
