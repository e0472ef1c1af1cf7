import { useRef } from 'react';
import { useStore } from 'zustand';
import { useController, useNotebook } from '../../state/StoreContext';
import { formatInt } from '../format';
import { shortcutProps } from '../shortcuts/table';
import { fieldErrorsStore } from './fieldErrors';

/** 75 → "1 min 15 s", 8 → "8 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Errors of the data (the split, the trace), not of the backend: another backend would not help. */
const DATA_ERROR = /split|sequence|part empty|trace|dataset|window/i;

/**
 * Time left from the steps done since the first step report of this run: null until two reports are apart.
 * `first` holds the first report's step and time.
 */
export function etaSeconds(first: { step: number; at: number } | null, step: number, total: number, now: number): number | null {
  if (!first || step <= first.step || total <= step || now <= first.at) return null;
  return ((now - first.at) / 1000 / (step - first.step)) * (total - step);
}

/** Run / Stop / Resume and where the run stands. */
export function RunBar() {
  const controller = useController();
  const status = useNotebook((s) => s.training.status);
  const step = useNotebook((s) => s.training.step);
  const total = useNotebook((s) => s.training.totalSteps);
  const error = useNotebook((s) => s.training.error);
  const baseline = useNotebook((s) => s.baselineStatus);
  const loaded = useNotebook((s) => s.current !== null);
  const invalid = useStore(fieldErrorsStore, (s) => s.invalid);
  const invalidLabels = Object.values(invalid);
  // The first step report of this run (step and time), for the time left.
  const first = useRef<{ step: number; at: number; total: number } | null>(null);
  if (status === 'running' && total > 0) {
    if (!first.current || first.current.total !== total || step < first.current.step) first.current = { step, at: Date.now(), total };
  } else if (status !== 'stopping') first.current = null;
  const eta = status === 'running' ? etaSeconds(first.current, step, total, Date.now()) : null;
  const sameError = error !== null && baseline.state === 'error' && baseline.message === error;
  return (
    <div className="run-bar">
      <button
        type="button"
        className="primary"
        data-testid="run"
        {...shortcutProps('run')}
        disabled={!loaded || invalidLabels.length > 0}
        onClick={() => void controller.run()}
      >
        Run
      </button>
      <button type="button" data-testid="stop" {...shortcutProps('stop')} disabled={status !== 'running' && status !== 'starting'} onClick={controller.stop}>
        Stop
      </button>
      <button type="button" data-testid="resume" {...shortcutProps('resume')} disabled={status !== 'stopped'} onClick={() => void controller.resume()}>
        Resume
      </button>
      <span className="muted" data-testid="training-status" data-state={status} aria-live="polite">
        {status === 'idle' && 'Not run yet: baselines and the model train on a seeded split by sequence.'}
        {status === 'starting' && 'Preparing the data…'}
        {status === 'running' &&
          (total === 0
            ? 'Training… preparing the first batch (the first step compiles the model; it takes longest)'
            : `Training… step ${formatInt(step)} of ${formatInt(total)}${eta === null ? '' : `, about ${formatDuration(eta)} left`}`)}
        {status === 'stopping' && 'Stopping after this step…'}
        {status === 'stopped' && (total === 0 ? 'Stopped before the first step.' : `Stopped at step ${formatInt(step)} of ${formatInt(total)}.`)}
        {status === 'done' && 'Done.'}
        {status === 'error' && 'Training failed.'}
        {baseline.state === 'running' && ' Scoring the baselines…'}
      </span>
      {invalidLabels.length > 0 && (
        <span className="field-error" data-testid="run-blocked">
          Run is off until {invalidLabels.length === 1 ? 'this field holds' : 'these fields hold'} a valid value: {invalidLabels.join(', ')}.
        </span>
      )}
      {error && (
        <p className="error-box" role="alert" data-testid="training-error">
          {error}
          <span className="note">
            {DATA_ERROR.test(error)
              ? 'The trace set does not fit these settings: change the test or validation share, the seed, the dataset filter or the context and horizon, then press Run.'
              : 'Press Run to try again; if it fails again, choose another backend (cpu always works) or smaller settings.'}
          </span>
        </p>
      )}
      {baseline.state === 'error' && !sameError && (
        <p className="error-box" role="alert" data-testid="baseline-error">
          Baselines: {baseline.message}
        </p>
      )}
    </div>
  );
}
