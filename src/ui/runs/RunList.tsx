import { useState } from 'react';
import { encodeCompactHash } from '../../core/experiment/compactLink';
import { meanOf } from '../../core/runs/curves';
import { modelResultOf } from '../../core/runs/names';
import type { RunRecord } from '../../core/runs/record';
import { useController, useNotebook } from '../../state/StoreContext';
import { formatPct } from '../format';

/** A run's error without the repeat: training and baselines failing on the same split give "X; X". */
export function runErrorText(error: string): string {
  const half = (error.length - 2) / 2;
  return Number.isInteger(half) && half > 0 && error.slice(half, half + 2) === '; ' && error.slice(0, half) === error.slice(half + 2)
    ? error.slice(0, half)
    : error;
}

const when = (ms: number) => new Date(ms).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });

/** Name and note edit in place; saved when the field loses focus (or Enter, for the name). */
function RunRow({ run, index }: { run: RunRecord; index: number }) {
  const { runs: history } = useController();
  const selected = useNotebook((s) => s.runsSelected.includes(run.id));
  const pinned = useNotebook((s) => s.runsBaseline === run.id);
  const toggle = useNotebook((s) => s.toggleRunSelected);
  const pin = useNotebook((s) => s.pinBaseline);
  const [armed, setArmed] = useState(false);
  const recall = meanOf(modelResultOf(run)?.recallAtK);
  const open = () => {
    // The training view shows this run's own model and numbers; the link carries its experiment.
    history.open(run.id);
    location.hash = encodeCompactHash({ ...run.spec, view: { panel: 'training', layer: run.spec.view.layer } });
  };
  return (
    <tr data-testid="run-row" data-id={run.id} data-status={run.status} className={pinned ? 'pinned' : undefined}>
      <td>
        <input type="checkbox" data-testid="run-select" aria-label={`Compare ${run.name}`} checked={selected} onChange={() => toggle(run.id)} />
      </td>
      <td>
        <input
          type="radio"
          name="run-baseline"
          data-testid="run-pin"
          aria-label={`Pin ${run.name} as the baseline`}
          checked={pinned}
          onChange={() => pin(run.id)}
        />
      </td>
      <td>
        <input
          type="text"
          className="run-name"
          data-testid="run-name"
          aria-label={`Name of run ${index + 1}`}
          defaultValue={run.name}
          key={run.name}
          maxLength={200}
          onBlur={(e) => void history.rename(run.id, e.currentTarget.value.trim() || run.name)}
          onKeyDown={(e) => e.key === 'Enter' && e.currentTarget.blur()}
        />
        <div className="muted small">
          {when(run.createdAt)} · seed {run.spec.seed} · {run.spec.trace} · {run.backend ?? 'no backend'}
          {run.status !== 'done' && ` · ${run.status}`}
        </div>
        {run.error && (
          <div className="field-error" data-testid="run-error">
            {runErrorText(run.error)}
          </div>
        )}
      </td>
      <td className="num" data-testid="run-recall" data-value={recall ?? ''}>
        {recall === null ? '—' : formatPct(recall)}
      </td>
      <td>
        <textarea
          data-testid="run-note"
          aria-label={`Note on ${run.name}`}
          defaultValue={run.note}
          key={run.note}
          maxLength={10_000}
          placeholder="Note…"
          onBlur={(e) => void history.annotate(run.id, e.currentTarget.value)}
        />
      </td>
      <td>
        <button
          type="button"
          className="small"
          data-testid="run-open"
          title="Open this run's experiment (trace set, settings, seed) to run it again"
          onClick={open}
        >
          Open
        </button>{' '}
        <button
          type="button"
          className="small"
          data-testid="run-delete"
          onClick={() => (armed ? void history.remove(run.id) : setArmed(true))}
          onBlur={() => setArmed(false)}
        >
          {armed ? 'Really delete?' : 'Delete'}
        </button>
      </td>
    </tr>
  );
}

export function RunList({ runs }: { runs: readonly RunRecord[] }) {
  return (
    <div className="table-scroll">
      <table data-testid="run-list">
        <thead>
          <tr>
            <th title="Draw on the chart and list in the comparison">compare</th>
            <th title="The run every other is compared with">pin</th>
            <th>run</th>
            <th className="num" title="The trained model's recall@k on the test split (as in the results table), mean over the horizon steps">
              test recall@k
              <div className="muted small">model, mean of steps</div>
            </th>
            <th>note</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((r, i) => (
            <RunRow key={r.id} run={r} index={i} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
