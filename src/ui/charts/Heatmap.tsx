import { interpolateViridis, rgb, scaleBand } from 'd3';
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { ChartExport } from '../export/ChartExport';
import { tickIndices } from './ticks';
import { Tooltip, useTip } from './Tooltip';

export interface HeatmapProps {
  /** rows × cols values, row-major: [r * cols + c]. */
  values: ArrayLike<number>;
  /** Index of the first value (a layer's block inside a larger array). */
  offset?: number;
  rows: number;
  cols: number;
  rowTitle: string;
  colTitle: string;
  rowLabel?: (r: number) => string;
  colLabel?: (c: number) => string;
  /** Text of one value, for the hover line and the maximum in the legend. */
  format: (v: number) => string;
  /** Top of the colour scale; the largest value when absent. */
  max?: number;
  ariaLabel: string;
  testId: string;
  /** Called with the clicked cell (e.g. a layer row selects that layer); the cursor says so when set. */
  onCellClick?: (r: number, c: number) => void;
}

/** Top margin holds the title; the right one the colour scale and its labels. */
const M = { top: 26, right: 84, bottom: 34, left: 50 };
/** Plot side: 360 units, more for many cells (about 11 per cell, up to 720), so 64 experts are not squeezed. */
export const plotSize = (rows: number, cols: number) => Math.max(360, Math.min(720, Math.max(rows, cols) * 11));
/** Steps of the colour scale drawn in the figure (exported files carry it too). */
const RAMP_STEPS = 32;

/**
 * A dense matrix as a canvas of one pixel per cell, scaled up by CSS (pixelated), so 128×128 experts cost one
 * putImageData; axes and labels are SVG computed with d3 scales. Pure: (data, options) → DOM.
 */
export function Heatmap({
  values,
  offset = 0,
  rows,
  cols,
  rowTitle,
  colTitle,
  rowLabel = String,
  colLabel = String,
  format,
  max,
  ariaLabel,
  testId,
  onCellClick,
}: HeatmapProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ r: number; c: number } | null>(null);
  const { tip, show, hide } = useTip();
  let top = max ?? 0;
  if (max === undefined) for (let i = 0; i < rows * cols; i++) top = Math.max(top, values[offset + i]);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(cols, rows);
    const scale = (LUT.length - 1) / (top || 1);
    for (let i = 0; i < rows * cols; i++) {
      const rgb = LUT[Math.max(0, Math.min(LUT.length - 1, Math.round(values[offset + i] * scale)))];
      img.data.set(rgb, i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }, [values, offset, rows, cols, top]);

  const SIZE = plotSize(rows, cols);
  const x = scaleBand<number>().domain(range(cols)).range([0, SIZE]);
  const y = scaleBand<number>().domain(range(rows)).range([0, SIZE]);
  const cellAt = (ev: MouseEvent<HTMLCanvasElement>) => {
    const box = ev.currentTarget.getBoundingClientRect();
    return { c: Math.floor(((ev.clientX - box.left) / box.width) * cols), r: Math.floor(((ev.clientY - box.top) / box.height) * rows) };
  };
  const onMove = (ev: MouseEvent<HTMLCanvasElement>) => {
    const { r, c } = cellAt(ev);
    const inside = r >= 0 && r < rows && c >= 0 && c < cols;
    setHover(inside ? { r, c } : null);
    show(ev, inside ? [`${rowTitle} ${rowLabel(r)}, ${colTitle} ${colLabel(c)}`, format(values[offset + r * cols + c])] : null);
  };
  const W = M.left + SIZE + M.right;
  const H = M.top + SIZE + M.bottom;

  const csv = () => {
    const out: (string | number)[][] = [];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out.push([rowLabel(r), colLabel(c), values[offset + r * cols + c]]);
    return { header: [rowTitle, colTitle, 'value'], rows: out };
  };
  return (
    <ChartExport name={testId} title={ariaLabel} csv={csv}>
      {/* At most 1.25 units per pixel, so labels keep their size; narrower windows scale the figure down. */}
      <figure className="heatmap" data-testid={testId} data-rows={rows} data-cols={cols} data-max={top} style={{ maxWidth: `${Math.round(W * 1.25)}px` }}>
        <div className="heatmap-plot" data-tip-host="" style={{ aspectRatio: `${W} / ${H}` }}>
          <svg viewBox={`0 0 ${W} ${H}`} aria-hidden="true">
            <text className="chart-title" x={M.left} y={16} data-testid={`${testId}-title`}>
              {ariaLabel}
            </text>
            <g className="color-scale" data-testid={`${testId}-scale`} transform={`translate(${M.left + SIZE + 12},${M.top})`}>
              {range(RAMP_STEPS).map((i) => (
                <rect
                  key={i}
                  x={0}
                  width={12}
                  y={(SIZE * (RAMP_STEPS - 1 - i)) / RAMP_STEPS}
                  height={SIZE / RAMP_STEPS + 0.5}
                  fill={rampColor((i + 0.5) / RAMP_STEPS)}
                />
              ))}
              {[0, 0.5, 1].map((f) => (
                <text key={f} className="axis-label" x={16} y={SIZE * (1 - f)} dy={f === 1 ? '0.7em' : f === 0 ? '0' : '0.32em'}>
                  {format(top * f)}
                </text>
              ))}
            </g>
            <g transform={`translate(${M.left},${M.top})`}>
              {tickIndices(cols).map((c) => (
                <text key={c} className="axis-label" x={(x(c) ?? 0) + x.bandwidth() / 2} y={SIZE + 13} textAnchor="middle">
                  {colLabel(c)}
                </text>
              ))}
              {tickIndices(rows).map((r) => (
                <text key={r} className="axis-label" x={-5} y={(y(r) ?? 0) + y.bandwidth() / 2} dy="0.32em" textAnchor="end">
                  {rowLabel(r)}
                </text>
              ))}
              <text className="axis-title" x={SIZE / 2} y={SIZE + 29} textAnchor="middle">
                {colTitle}
              </text>
              <text className="axis-title" transform={`translate(${-34},${SIZE / 2}) rotate(-90)`} textAnchor="middle">
                {rowTitle}
              </text>
            </g>
          </svg>
          <canvas
            ref={canvas}
            width={cols}
            height={rows}
            role="img"
            aria-label={ariaLabel}
            onMouseMove={onMove}
            onClick={
              onCellClick &&
              ((ev) => {
                const { r, c } = cellAt(ev);
                if (r >= 0 && r < rows && c >= 0 && c < cols) onCellClick(r, c);
              })
            }
            onMouseLeave={() => {
              setHover(null);
              hide();
            }}
            style={{
              left: `${(M.left / W) * 100}%`,
              top: `${(M.top / H) * 100}%`,
              width: `${(SIZE / W) * 100}%`,
              height: `${(SIZE / H) * 100}%`,
              cursor: onCellClick ? 'pointer' : undefined,
            }}
          />
          <Tooltip tip={tip} testId={`${testId}-tooltip`} />
        </div>
        <figcaption className="muted">
          <span className="legend-ramp" aria-hidden="true" /> 0 … {format(top)}
          <span className="hover-value" data-testid={`${testId}-hover`}>
            {hover ? ` · ${rowTitle} ${rowLabel(hover.r)}, ${colTitle} ${colLabel(hover.c)}: ${format(values[offset + hover.r * cols + hover.c])}` : ''}
          </span>
        </figcaption>
      </figure>
    </ChartExport>
  );
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The colour scale's colour at t in [0, 1] (viridis, as the cells). */
function rampColor(t: number): string {
  const c = LUT[Math.round(t * (LUT.length - 1))];
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** 256 steps of viridis as RGBA, so a cell costs a lookup instead of parsing d3's "rgb(r, g, b)" text. */
const LUT: Uint8ClampedArray[] = Array.from({ length: 256 }, (_, i) => {
  const c = rgb(interpolateViridis(i / 255));
  return new Uint8ClampedArray([c.r, c.g, c.b, 255]);
});
