/** The regression report: JSON for machines, one self-contained HTML page for people. Pure functions. */
import type { MetricCheck } from './suite';

export interface CurvePoint {
  epoch: number;
  trainLoss?: number;
  valLoss?: number;
  trainRecall?: number[];
  valRecall?: number[];
}

export interface ExperimentReport {
  name: string;
  /** Link that opens the experiment (base URL + hash). */
  link: string;
  backend: string | null;
  status: 'pass' | 'fail' | 'error';
  error?: string;
  checks: MetricCheck[];
  curves: CurvePoint[];
  /** PNG screenshot, base64. */
  screenshot?: string;
  seconds: number;
}

export interface SuiteReport {
  suite: string;
  date: string;
  browser: string;
  passed: boolean;
  experiments: ExperimentReport[];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number | null) => (v === null ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(4));

/** Validation recall (step 1) and training loss per epoch as a small inline SVG. */
function curveSvg(curves: CurvePoint[]): string {
  const pts = curves.filter((c) => c.valRecall?.length || c.trainRecall?.length);
  if (pts.length === 0) return '<p class="muted">no training curve (baselines only)</p>';
  const W = 320;
  const H = 140;
  const pad = 28;
  const maxE = Math.max(...pts.map((p) => p.epoch), 1);
  const x = (e: number) =>
    pad +
    ((W - 2 * pad) * (e - (pts.length > 1 ? Math.min(...pts.map((p) => p.epoch)) : 0))) /
      Math.max(1, maxE - (pts.length > 1 ? Math.min(...pts.map((p) => p.epoch)) : 0));
  const y = (v: number) => H - pad - (H - 2 * pad) * Math.max(0, Math.min(1, v));
  const line = (get: (p: CurvePoint) => number | undefined, cls: string) => {
    const d = pts
      .map((p) => [p.epoch, get(p)] as const)
      .filter(([, v]) => v !== undefined && Number.isFinite(v))
      .map(([e, v], i) => `${i ? 'L' : 'M'}${x(e).toFixed(1)},${y(v!).toFixed(1)}`)
      .join('');
    // Dots as well as the path: a one-epoch run has no line to draw.
    const dots = pts
      .map((p) => [p.epoch, get(p)] as const)
      .filter(([, v]) => v !== undefined && Number.isFinite(v))
      .map(([e, v]) => `<circle class="${cls}" cx="${x(e).toFixed(1)}" cy="${y(v!).toFixed(1)}" r="2.5"/>`)
      .join('');
    return (d ? `<path class="${cls}" d="${d}"/>` : '') + dots;
  };
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="recall per epoch">
<line class="axis" x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}"/><line class="axis" x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}"/>
<text x="${pad - 4}" y="${pad + 4}" text-anchor="end">1</text><text x="${pad - 4}" y="${H - pad}" text-anchor="end">0</text>
<text x="${W - pad}" y="${H - 8}" text-anchor="end">epoch ${maxE}</text>
${line((p) => p.trainRecall?.[0], 'train')}${line((p) => p.valRecall?.[0], 'val')}
</svg><p class="legend"><span class="train">— train recall@k (l+1)</span> <span class="val">— validation recall@k (l+1)</span></p>`;
}

export function renderHtml(r: SuiteReport): string {
  const rows = (e: ExperimentReport) =>
    e.checks
      .map(
        (c) =>
          `<tr class="${c.verdict}"><td>${escapeHtml(c.metric)}</td><td>${fmt(c.value)}</td><td>${fmt(c.baseline)}</td><td>${c.difference === null ? '—' : (c.difference >= 0 ? '+' : '') + c.difference.toPrecision(3)}</td><td>±${c.tolerance}</td><td>${c.verdict}</td></tr>`,
      )
      .join('\n');
  const sections = r.experiments
    .map(
      (e) => `<section class="${e.status}">
<h2>${escapeHtml(e.name)} <span class="badge ${e.status}">${e.status.toUpperCase()}</span></h2>
<p><a href="${escapeHtml(e.link)}">open the experiment</a> · backend ${escapeHtml(e.backend ?? 'unknown')} · ${e.seconds.toFixed(1)} s</p>
${e.error ? `<p class="error">${escapeHtml(e.error)}</p>` : ''}
<div class="row"><table><thead><tr><th>metric</th><th>value</th><th>baseline</th><th>difference</th><th>tolerance</th><th>verdict</th></tr></thead><tbody>
${rows(e)}
</tbody></table>
<div>${curveSvg(e.curves)}</div></div>
${e.screenshot ? `<img alt="screenshot of ${escapeHtml(e.name)}" src="data:image/png;base64,${e.screenshot}">` : ''}
</section>`,
    )
    .join('\n');
  const failed = r.experiments.filter((e) => e.status !== 'pass').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SpecLab regression: ${escapeHtml(r.suite)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:0 0 4px}
section{border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:12px 0}
section.fail,section.error{border-color:#cf222e}
.badge{font-size:12px;padding:1px 6px;border-radius:10px;color:#fff}.badge.pass{background:#1a7f37}.badge.fail,.badge.error{background:#cf222e}
table{border-collapse:collapse;margin-right:16px}td,th{border-bottom:1px solid #eaeef2;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.regressed td,tr.missing td,tr.no-baseline td{color:#cf222e;font-weight:600}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
img{max-width:100%;border:1px solid #d0d7de;margin-top:8px}
svg text{font-size:10px;fill:#57606a}svg .axis{stroke:#8c959f}svg path{fill:none;stroke-width:2}
svg .train,.legend .train{stroke:#0969da;color:#0969da}svg .val,.legend .val{stroke:#bf3989;color:#bf3989}svg circle.train{fill:#0969da}svg circle.val{fill:#bf3989}
.error{color:#cf222e;white-space:pre-wrap}.muted{color:#57606a}
</style></head><body>
<h1>SpecLab regression run: ${escapeHtml(r.suite)}</h1>
<p>${escapeHtml(r.date)} · ${escapeHtml(r.browser)} · ${r.experiments.length} experiments, ${failed} failed · <strong>${r.passed ? 'PASSED' : 'FAILED'}</strong></p>
${sections}
</body></html>
`;
}
