import type { PredictorResult } from '../../core/predictors/evaluate';
import type { PredictorCost } from '../../workers/trainingClient';
import { formatBytes, formatInt, formatPct } from '../format';

/** Row labels by predictor name; the learned model's row is keyed by its model kind. */
const LABELS: Record<string, string> = { interlayer: 'InterLayer' };

const METRICS: [key: keyof Pick<PredictorResult, 'recallAtK' | 'exact' | 'top1' | 'top3' | 'top5'>, title: string][] = [
  ['recallAtK', 'recall@k'],
  ['exact', 'exact'],
  ['top1', 'top-1'],
  ['top3', 'top-3'],
  ['top5', 'top-5'],
];

interface Props {
  /** Predictor name → result on the test split; the model's row first when present. */
  rows: [name: string, result: PredictorResult][];
  horizon: number;
  topK: number;
  /** Row labels beyond the built-in ones, e.g. the trained model's kind for the model's row. */
  labels?: Record<string, string>;
  /** What each learned predictor costs at inference (size, time per token), by row name: adds those columns. */
  costs?: Record<string, PredictorCost | null | undefined>;
  /** The task's unit of a horizon step: layers l+h of the token (default) or tokens t+h (every layer). */
  stepUnit?: 'layers' | 'tokens';
}

/** Milliseconds with three significant digits, e.g. 0.0123 ms, 4.56 ms. */
export function formatMs(ms: number): string {
  return `${ms >= 100 ? ms.toFixed(0) : ms.toPrecision(3)} ms`;
}

/** Every predictor beside the others, per horizon step: recall@k, exact top-k set, and top-1/3/5 of the first choice. */
export function ResultsTable({ rows, horizon, topK, labels, costs, stepUnit = 'layers' }: Props) {
  const steps = Array.from({ length: horizon }, (_, h) => h);
  const withCost = rows.some(([name]) => costs?.[name]);
  return (
    <div className="table-scroll">
      <table className="results" data-testid="results-table">
        <thead>
          <tr>
            <th rowSpan={2}>predictor</th>
            {steps.map((h) => (
              <th key={h} colSpan={METRICS.length} className="group" data-testid="results-step">
                {stepUnit === 'tokens' ? `token t+${h + 1} (every layer)` : `layer l+${h + 1}`}
              </th>
            ))}
            <th rowSpan={2}>windows</th>
            {withCost && (
              <>
                <th rowSpan={2} title="trained parameters (constants excluded)">
                  parameters
                </th>
                <th rowSpan={2} title="bytes of the exported weights (float32)">
                  weights
                </th>
                <th rowSpan={2} title="inference time per token (every window of it), median of timed batches, on the device it ran on">
                  time / token
                </th>
              </>
            )}
          </tr>
          <tr>
            {steps.flatMap((h) =>
              METRICS.map(([k, t]) => (
                <th key={`${h}-${k}`} title={k === 'recallAtK' ? `mean share of the true top-${topK} among the predicted top-${topK}` : undefined}>
                  {t}
                </th>
              )),
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, r]) => (
            <tr key={name} data-testid="result-row" data-name={name} className={r.kind === 'learned' ? 'learned' : undefined}>
              <th scope="row">
                {labels?.[name] ?? LABELS[name] ?? name} <span className="muted small">{r.kind}</span>
              </th>
              {steps.flatMap((h) =>
                METRICS.map(([k]) => (
                  <td key={`${h}-${k}`} data-metric={`${k}@${h + 1}`}>
                    {r[k][h] === undefined ? '—' : formatPct(r[k][h])}
                  </td>
                )),
              )}
              <td>{r.samples.toLocaleString('en-US')}</td>
              {withCost && <CostCells cost={costs?.[name]} />}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CostCells({ cost }: { cost: PredictorCost | null | undefined }) {
  if (!cost)
    return (
      <>
        <td>—</td>
        <td>—</td>
        <td>—</td>
      </>
    );
  return (
    <>
      <td data-metric="parameters">{formatInt(cost.parameters)}</td>
      <td data-metric="bytes">{formatBytes(cost.bytes)}</td>
      <td data-metric="msPerToken" title={`${cost.backend}: median of ${cost.batches} batches of ${cost.tokensPerBatch} tokens`}>
        {formatMs(cost.inferenceMsPerToken)} <span className="muted small">{cost.device.toUpperCase()}</span>
      </td>
    </>
  );
}
