import { scaleBand, scaleLinear } from 'd3';
import type { MouseEvent } from 'react';
import { ChartExport } from '../export/ChartExport';
import { tickIndices } from './ticks';
import { Tooltip, useTip } from './Tooltip';

const WIDTH = 640;
const HEIGHT = 236;
/** Room below for the layer labels and the axis title, left for the tick labels and the rotated "bits". */
const M = { top: 18, right: 12, bottom: 40, left: 52 };

interface Props {
  /** [layer] entropy of expert selections, bits. */
  entropyBits: number[];
  /** log2(experts): uniform routing. */
  maxEntropyBits: number;
  /** The model's layer index of each MoE layer, for the axis labels. */
  layerIds: number[];
  /** Scale from just below the lowest layer instead of 0, so layers that all sit near log2(E) can be told apart. */
  zoom?: boolean;
}

/** Bottom of the zoomed scale: a tenth of the spread below the lowest value, rounded down to 0.05 bits, never below 0. */
export function zoomFloor(values: readonly number[], top: number): number {
  if (values.length === 0) return 0;
  const lo = Math.min(...values);
  const spread = Math.max(top - lo, 0.05);
  return Math.max(0, Math.floor((lo - spread * 0.1) / 0.05) * 0.05);
}

/** Bar chart of per-layer entropy; d3 computes the scales, React renders the SVG. */
export function EntropyChart({ entropyBits, maxEntropyBits, layerIds, zoom = false }: Props) {
  const layers = entropyBits.map((_, l) => l);
  const x = scaleBand<number>()
    .domain(layers)
    .range([M.left, WIDTH - M.right])
    .padding(0.15);
  const yMax = Math.max(maxEntropyBits, ...entropyBits) || 1;
  const floor = zoom ? zoomFloor(entropyBits, yMax) : 0;
  const y = scaleLinear()
    .domain([floor, yMax])
    .range([HEIGHT - M.bottom, M.top]);
  if (!zoom) y.nice();
  const bottom = y.domain()[0];
  const labelled = new Set(tickIndices(layers.length));
  const yRef = y(maxEntropyBits);
  const { tip, show, hide } = useTip();
  /** The layer under the cursor: the band it is in, gaps going to the nearer bar. */
  const onMove = (ev: MouseEvent<SVGSVGElement>) => {
    const box = ev.currentTarget.getBoundingClientRect();
    const ux = ((ev.clientX - box.left) / box.width) * WIDTH;
    if (ux < M.left || ux > WIDTH - M.right || layers.length === 0) return show(ev, null);
    const l = Math.max(0, Math.min(layers.length - 1, Math.round((ux - (x(0) ?? 0) - x.bandwidth() / 2) / x.step())));
    show(ev, [
      `layer ${layerIds[l] ?? l}`,
      `${entropyBits[l].toFixed(4)} bits`,
      `${((entropyBits[l] / (maxEntropyBits || 1)) * 100).toFixed(2)}% of log₂E = ${maxEntropyBits.toFixed(4)} bits`,
    ]);
  };

  const csv = () => ({ header: ['layer', 'entropy_bits', 'uniform_bits'], rows: layers.map((l) => [layerIds[l] ?? l, entropyBits[l], maxEntropyBits]) });
  return (
    <ChartExport name="entropy-chart" title="Routing entropy per MoE layer (bits)" csv={csv}>
      <div className="tip-box" data-tip-host="">
        <svg
          onMouseMove={onMove}
          onMouseLeave={hide}
          className="entropy-chart"
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          role="img"
          aria-label={`Routing entropy per MoE layer, in bits; uniform routing is ${maxEntropyBits.toFixed(2)} bits`}
          data-testid="entropy-chart"
        >
          {y.ticks(zoom ? 5 : 4).map((t) => (
            <g key={t} className="tick">
              <line x1={M.left} x2={WIDTH - M.right} y1={y(t)} y2={y(t)} />
              <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {t}
              </text>
            </g>
          ))}
          {layers.map((l) => (
            <rect
              key={l}
              className="bar"
              data-testid="entropy-bar"
              x={x(l)}
              y={y(entropyBits[l])}
              width={x.bandwidth()}
              height={Math.max(0, y(bottom) - y(entropyBits[l]))}
            >
              <title>{`layer ${layerIds[l] ?? l}: ${entropyBits[l].toFixed(3)} bits`}</title>
            </rect>
          ))}
          {layers
            .filter((l) => labelled.has(l))
            .map((l) => (
              <text key={l} className="axis-label" x={(x(l) ?? 0) + x.bandwidth() / 2} y={HEIGHT - M.bottom + 14} textAnchor="middle">
                {layerIds[l] ?? l}
              </text>
            ))}
          <text className="axis-title" data-testid="entropy-x-title" x={(M.left + WIDTH - M.right) / 2} y={HEIGHT - 6} textAnchor="middle">
            layer
          </text>
          <text
            className="axis-title"
            data-testid="entropy-y-title"
            transform={`translate(14,${(M.top + HEIGHT - M.bottom) / 2}) rotate(-90)`}
            textAnchor="middle"
          >
            {zoom ? 'entropy (bits, zoomed)' : 'entropy (bits)'}
          </text>
          <g data-testid="entropy-max">
            <line className="max-line" x1={M.left} x2={WIDTH - M.right} y1={yRef} y2={yRef} />
            <text className="max-label" x={WIDTH - M.right} y={yRef - 4} textAnchor="end">
              {`max log₂E = ${maxEntropyBits.toFixed(2)} bits`}
            </text>
          </g>
        </svg>
        <Tooltip tip={tip} testId="entropy-chart-tooltip" />
      </div>
    </ChartExport>
  );
}
