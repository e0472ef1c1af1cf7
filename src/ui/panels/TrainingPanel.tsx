import { runKeyOf } from '../../state/runController';
import { useNotebook } from '../../state/StoreContext';
import type { PredictorResult } from '../../core/predictors/evaluate';
import { formatInt } from '../format';
import { AccuracyChart } from '../training/AccuracyChart';
import { BackendLine } from '../training/BackendLine';
import { HyperparamForm } from '../training/HyperparamForm';
import { ResultsTable } from '../training/ResultsTable';
import { RunBar } from '../training/RunBar';

/** Train the reference design's InterLayer model and compare it with every baseline on the same test split. */
export function TrainingPanel() {
  const baselines = useNotebook((s) => s.baselines);
  const training = useNotebook((s) => s.training);
  const stale = useNotebook((s) => s.runKey !== null && (!s.current || s.runKey !== runKeyOf(s.spec, s.current.id)));
  const horizon = useNotebook((s) => s.spec.task.horizon);
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
        InterLayer (the reference design): expert embedding → LSTM over the context layers → one linear head per horizon step over the experts,
        multi-label. Baselines: random, frequency, Markov (inter-layer counts), temporal (previous token).
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
          Train: {formatInt(baselines.split.trainSequences)} sequences ({formatInt(baselines.split.trainTokens)} tokens); test:{' '}
          {formatInt(baselines.split.testSequences)} sequences ({formatInt(baselines.split.testTokens)} tokens).
        </p>
      )}
      {rows.length > 0 && <ResultsTable rows={rows} horizon={shownHorizon} topK={topK} labels={modelKind && modelKind !== 'interlayer' ? { [modelKind]: modelKind } : undefined} />}
    </section>
  );
}
