import { useRef, useState } from 'react';
import { resultOf, TRAINED_MODEL } from '../../core/runs/names';
import { useController, useNotebook } from '../../state/StoreContext';
import { download } from '../export/chartImage';
import { TableExport } from '../export/TableExport';
import { RunComparison } from './RunComparison';
import { RunList } from './RunList';
import { RunOverlayChart, type CurveKind } from './RunOverlayChart';

/** Every kept run: the list, the overlay of their curves, and the comparison with a pinned run. */
export function RunsSection() {
  const { runs: history } = useController();
  const runs = useNotebook((s) => s.runs);
  const selectedIds = useNotebook((s) => s.runsSelected);
  const baseline = useNotebook((s) => s.runsBaseline);
  const smoothing = useNotebook((s) => s.runsSmoothing);
  const setSmoothing = useNotebook((s) => s.setRunsSmoothing);
  const note = useNotebook((s) => s.runsNote);
  const [kind, setKind] = useState<CurveKind>('val');
  const [predictor, setPredictor] = useState(TRAINED_MODEL);
  const fileInput = useRef<HTMLInputElement>(null);
  const selected = runs.filter((r) => selectedIds.includes(r.id));
  // Each run's learned result (keyed by its model kind) is offered once, as the trained model.
  const predictors = [...new Set(selected.flatMap((r) => Object.entries(r.results).map(([k, x]) => (x.kind === 'learned' ? TRAINED_MODEL : k))))];
  // A chosen predictor none of the ticked runs has (e.g. the model of runs stopped before their first epoch): show the first one they have.
  const shown = selected.some((r) => resultOf(r, predictor)) ? predictor : (predictors[0] ?? predictor);
  const lacking = selected.filter((r) => !resultOf(r, shown));
  const modelKinds = [...new Set(selected.filter((r) => resultOf(r, TRAINED_MODEL)).map((r) => r.spec.model.kind))];
  const optionLabel = (p: string) => {
    const kind = selected.map((r) => resultOf(r, p)).find((x) => x)?.kind;
    if (p === TRAINED_MODEL) return `trained model (${modelKinds.join(', ') || "each run's own"})`;
    return kind === 'baseline' ? `${p} (baseline)` : p;
  };
  const noCurve = selected.filter((r) => r.epochs.length === 0);
  const exportRuns = () => {
    const { text, count } = history.exportText(selectedIds);
    download(`speclab-runs-${count}.json`, text, 'application/json');
  };
  return (
    <section className="card runs" data-testid="runs-section">
      <h2>Runs</h2>
      <p className="muted small">
        Every run is kept in this browser with its experiment (trace set, settings, seed), curves and results. Tick runs to compare them; pin one as the
        baseline.
      </p>
      <div className="runs-toolbar">
        <button
          type="button"
          data-testid="runs-export"
          disabled={runs.length === 0}
          onClick={exportRuns}
          title="Save the ticked runs (all when none is ticked) as a JSON file"
        >
          Export runs
        </button>
        <button type="button" data-testid="runs-import" onClick={() => fileInput.current?.click()} title="Add runs from a file saved with Export runs">
          Import runs…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".json,application/json"
          hidden
          data-testid="runs-import-input"
          onChange={(e) => {
            const f = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (f) void history.importFile(f.name, () => f.text());
          }}
        />
        {note && (
          <span
            className={note.kind === 'error' ? 'field-error' : 'muted small'}
            role={note.kind === 'error' ? 'alert' : 'status'}
            data-testid="runs-note"
            data-kind={note.kind}
          >
            {note.text}
          </span>
        )}
      </div>
      {runs.length === 0 ? (
        <p className="muted" data-testid="runs-empty">
          No runs yet: press Run above (or import a run file).
        </p>
      ) : (
        <RunList runs={runs} />
      )}
      {selected.length > 0 && (
        <>
          <h3>Accuracy curves</h3>
          <div className="runs-toolbar">
            <label className="small">
              Curve{' '}
              <select data-testid="overlay-curve" value={kind} onChange={(e) => setKind(e.currentTarget.value as CurveKind)}>
                <option value="val">validation recall@k</option>
                <option value="train">training recall@k</option>
              </select>
            </label>
            <label className="small">
              Smoothing (EMA){' '}
              <input
                type="range"
                min={0}
                max={0.95}
                step={0.05}
                value={smoothing}
                data-testid="overlay-smoothing"
                onChange={(e) => setSmoothing(Number(e.currentTarget.value))}
              />{' '}
              <output data-testid="overlay-smoothing-value">{smoothing.toFixed(2)}</output>
            </label>
          </div>
          {noCurve.length > 0 && (
            <p className="muted small" data-testid="overlay-missing">
              No curve for {noCurve.map((r) => r.name).join(', ')}: {noCurve.length === 1 ? 'it' : 'they'} stopped or failed before the first epoch ended
              (curves have one point per epoch).
            </p>
          )}
          {noCurve.length < selected.length && <RunOverlayChart runs={selected.filter((r) => r.epochs.length > 0)} kind={kind} smoothing={smoothing} />}
          <h3>Comparison on the test split</h3>
          <label className="small">
            Predictor{' '}
            <select data-testid="comparison-predictor" value={shown} onChange={(e) => setPredictor(e.currentTarget.value)}>
              {predictors.map((p) => (
                <option key={p} value={p}>
                  {optionLabel(p)}
                </option>
              ))}
            </select>
          </label>
          {lacking.length > 0 && (
            <p className="muted small" data-testid="comparison-missing">
              {lacking.map((r) => r.name).join(', ')} {lacking.length === 1 ? 'has' : 'have'} no {shown === TRAINED_MODEL ? 'trained-model' : shown} result
              {shown === TRAINED_MODEL ? ' (stopped or failed before the model was scored)' : ''}: {lacking.length === 1 ? 'its' : 'their'} cells show —. Choose
              a baseline under Predictor to compare every ticked run.
            </p>
          )}
          <TableExport name="comparison">
            <RunComparison runs={selected} baselineId={baseline} predictor={shown} />
          </TableExport>
        </>
      )}
    </section>
  );
}
