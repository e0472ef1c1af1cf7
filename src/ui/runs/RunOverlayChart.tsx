import { area, line, scaleLinear, schemeTableau10 } from 'd3';
import type { MouseEvent } from 'react';
import type { CsvTable } from '../../core/export/chartFiles';
import { alignByEpoch, ema, meanOf, minMaxBand } from '../../core/runs/curves';
import type { RunRecord } from '../../core/runs/record';
import { ChartExport } from '../export/ChartExport';
import { formatPct } from '../format';
import { nearestIndex } from '../charts/LineChart';
import { Tooltip, useTip } from '../charts/Tooltip';

export type CurveKind = 'val' | 'train';

const W = 640;
const H = 260;
const M = { top: 26, right: 14, bottom: 34, left: 46 };

export const runColor = (i: number) => schemeTableau10[i % schemeTableau10.length];

/** Each run's recall@k per epoch (mean over the horizon steps), on the validation split or the training batches. */
export function runCurves(runs: readonly RunRecord[], kind: CurveKind) {
  return alignByEpoch(
    runs.map((r) => {
      const pts = r.epochs.map((e) => ({ epoch: e.epoch, v: meanOf(kind === 'val' ? e.valRecall : e.trainRecall) })).filter((p) => p.v !== null);
      return { epochs: pts.map((p) => p.epoch), values: pts.map((p) => p.v as number) };
    }),
  );
}

/** The overlay as a table: epoch, each run raw and smoothed, and the band. */
function overlayCsv(
  runs: readonly RunRecord[],
  epochs: number[],
  raw: (number | null)[][],
  smooth: (number | null)[][],
  band: ReturnType<typeof minMaxBand>,
): CsvTable {
  return {
    header: ['epoch', ...runs.flatMap((r) => [r.name, `${r.name} (smoothed)`]), 'band_min', 'band_max'],
    rows: epochs.map((e, i) => [e, ...runs.flatMap((_, j) => [raw[j][i], smooth[j][i]]), band.min[i], band.max[i]]),
  };
}

/** Accuracy curves of the selected runs, EMA-smoothed, over the min/max band across them. */
export function RunOverlayChart({ runs, kind, smoothing }: { runs: readonly RunRecord[]; kind: CurveKind; smoothing: number }) {
  const { epochs, values } = runCurves(runs, kind);
  const smooth = values.map((v) => ema(v, smoothing));
  // The band spans the epochs every run reached: past the shorter run's end a "range" of one run means nothing.
  const spread = minMaxBand(smooth);
  const everyRun = epochs.map((_, i) => smooth.every((v) => v[i] !== null));
  const band = { min: spread.min.map((v, i) => (everyRun[i] ? v : null)), max: spread.max.map((v, i) => (everyRun[i] ? v : null)) };
  const x = scaleLinear()
    .domain(epochs.length > 1 ? [epochs[0], epochs[epochs.length - 1]] : [(epochs[0] ?? 1) - 1, (epochs[0] ?? 1) + 1])
    .range([M.left, W - M.right]);
  const y = scaleLinear()
    .domain([0, 1])
    .range([H - M.bottom, M.top]);
  const path = line<number | null>()
    .defined((v) => v !== null)
    .x((_, i) => x(epochs[i]))
    .y((v) => y(v ?? 0));
  const bandPath = area<number>()
    .defined((i) => band.min[i] !== null)
    .x((i) => x(epochs[i]))
    .y0((i) => y(band.min[i] ?? 0))
    .y1((i) => y(band.max[i] ?? 0));
  const { tip, show, hide } = useTip();
  // The epoch nearest the cursor: each run's smoothed (and raw) value there, and the band.
  const onMove = (ev: MouseEvent<SVGSVGElement>) => {
    const box = ev.currentTarget.getBoundingClientRect();
    const ux = ((ev.clientX - box.left) / box.width) * W;
    const i = nearestIndex(ux, epochs.length, (j) => x(epochs[j]));
    if (i === null || ux < M.left - 8 || ux > W - M.right + 8) return show(ev, null);
    const lines = runs.map((r, j) => {
      const v = smooth[j][i];
      const raw = values[j][i];
      return `${r.name}: ${v === null ? '—' : formatPct(v, 2)}${smoothing > 0 && raw !== null && v !== null ? ` (raw ${formatPct(raw, 2)})` : ''}`;
    });
    if (band.min[i] !== null && runs.length > 1) lines.push(`band ${formatPct(band.min[i] as number, 2)} – ${formatPct(band.max[i] as number, 2)}`);
    show(ev, [`epoch ${epochs[i]}`, ...lines]);
  };
  const what = kind === 'val' ? 'validation' : 'training';
  const title = `Recall@k per epoch (${what}), ${runs.length} runs, EMA ${smoothing}`;
  return (
    <ChartExport name="run-overlay" title={title} csv={() => overlayCsv(runs, epochs, values, smooth, band)}>
      <figure className="run-overlay" data-testid="run-overlay" data-runs={runs.length} data-epochs={epochs.length} data-tip-host="">
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} onMouseMove={onMove} onMouseLeave={hide}>
          {y.ticks(5).map((t) => (
            <g key={t} className="tick">
              <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} />
              <text x={M.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
                {formatPct(t, 0)}
              </text>
            </g>
          ))}
          {(epochs.length <= 12 ? epochs : x.ticks(8).filter(Number.isInteger)).map((t) => (
            <text key={t} x={x(t)} y={H - M.bottom + 14} textAnchor="middle">
              {t}
            </text>
          ))}
          <text x={(M.left + W - M.right) / 2} y={H - 4} textAnchor="middle">
            epoch
          </text>
          <text x={4} y={12}>
            {`recall@k (${what})`}
          </text>
          {runs.length > 1 && <path className="band" data-testid="run-band" d={bandPath(epochs.map((_, i) => i)) ?? ''} />}
          {runs.map((r, j) => (
            <g key={r.id} data-testid="run-curve" data-id={r.id} data-points={values[j].filter((v) => v !== null).length}>
              {smoothing > 0 && <path className="raw-line" stroke={runColor(j)} d={path(values[j]) ?? ''} />}
              <path className="run-line" stroke={runColor(j)} d={path(smooth[j]) ?? ''} />
              {smooth[j].map((v, i) =>
                v === null ? null : (
                  <circle key={i} cx={x(epochs[i])} cy={y(v)} r={2.5} fill={runColor(j)}>
                    <title>{`${r.name}, epoch ${epochs[i]}: ${formatPct(v)}`}</title>
                  </circle>
                ),
              )}
            </g>
          ))}
          <g className="overlay-legend">
            {runs.map((r, j) => (
              <text key={r.id} x={W - M.right} y={M.top + 4 + j * 14} textAnchor="end" fill={runColor(j)} style={{ fill: runColor(j) }}>
                {r.name}
              </text>
            ))}
          </g>
        </svg>
        <Tooltip tip={tip} testId="run-overlay-tooltip" />
      </figure>
    </ChartExport>
  );
}
