import { runKeyOf } from '../../state/runController';
import { useNotebook } from '../../state/StoreContext';
import type { PredictorResult } from '../../core/predictors/evaluate';
import { plural } from '../format';
import { AccuracyChart } from '../training/AccuracyChart';
import { BackendLine } from '../training/BackendLine';
import { HyperparamForm } from '../training/HyperparamForm';
import { ResultsTable } from '../training/ResultsTable';
import { TableExport } from '../export/TableExport';
import { ModelCost } from '../training/ModelCost';
import { modelInfo } from '../training/models';
import { RunBar } from '../training/RunBar';
import { LookaheadChart } from './LookaheadChart';

/** Train the reference design's InterLayer model and compare it with every baseline on the same test split. */
export function TrainingPanel() {
  const baselines = useNotebook((s) => s.baselines);
  const training = useNotebook((s) => s.training);
  const stale = useNotebook((s) => s.runKey !== null && (!s.current || s.runKey !== runKeyOf(s.spec, s.current.id)));
  const horizon = useNotebook((s) => s.spec.task.horizon);
  const taskKind = useNotebook((s) => s.spec.task.kind);
  // The model that trained the shown result (its key), not the one chosen since.
  const modelKind = useNotebook((s) => (s.training.result && s.runKey ? (s.training.model ?? s.spec.model.kind) : null));
  const topK = useNotebook((s) => s.current?.info.manifest.topK ?? 0);
  const rows: [string, PredictorResult][] = [];
  if (training.result && modelKind) rows.push([modelKind, training.result]);
  if (baselines) rows.push(...Object.entries(baselines.results));
  const shownHorizon = rows.length ? rows[0][1].recallAtK.length : horizon;
  return (
    <section className="card" data-testid="training-panel">
      <h2>Speculation model</h2>
      <p className="muted small">
        Train the model chosen under Model (described there) and score it beside the baselines on the same test split. Baselines: random, frequency, Markov
        (inter-layer counts), temporal (previous token), and, where the trace records it, the lookahead gate (layer l+h's router applied to layer l's input).
      </p>
      <HyperparamForm />
      <RunBar />
      <BackendLine backend={training.backend} />
      {stale && (
        <p className="field-error" data-testid="results-stale">
          The configuration changed since these results were computed; press Run to compute them for this one.
        </p>
      )}
      {training.epochs.length > 0 && <AccuracyChart epochs={training.epochs} />}
      {baselines && (
        <p className="muted small" data-testid="split-summary">
          Train: {plural(baselines.split.trainSequences, 'sequence')} ({plural(baselines.split.trainTokens, 'token')}); test:{' '}
          {plural(baselines.split.testSequences, 'sequence')} ({plural(baselines.split.testTokens, 'token')}).
          {baselines.split.moved &&
            ` The seeded draw left the ${baselines.split.moved.to === 'test' ? 'test' : 'training'} part empty, so sequence ${baselines.split.moved.sequence} was moved there.`}
        </p>
      )}
      {rows.length > 0 && (
        <h3 data-testid="results-heading">
          Results on the test split <span className="muted small">(the Runs list below shows the same test numbers)</span>
        </h3>
      )}
      {rows.length > 0 && (
        <TableExport name="results">
          <ResultsTable
            rows={rows}
            horizon={shownHorizon}
            stepUnit={taskKind}
            topK={topK}
            labels={modelKind ? { [modelKind]: modelInfo(modelKind).title } : undefined}
            costs={modelKind ? { [modelKind]: training.cost } : undefined}
          />
        </TableExport>
      )}
      {rows.length > 0 && !stale && <ModelCost />}
      {rows.length > 0 && <LookaheadChart rows={rows} curve={baselines?.lookaheadByDistance} label={(n) => (n === modelKind ? modelInfo(n).title : n)} />}
    </section>
  );
}
