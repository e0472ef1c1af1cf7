import { useController, useNotebook } from '../../state/StoreContext';
import { formatInt } from '../format';
import { shortcutProps } from '../shortcuts/table';

/** Run / Stop / Resume and where the run stands. */
export function RunBar() {
  const controller = useController();
  const status = useNotebook((s) => s.training.status);
  const step = useNotebook((s) => s.training.step);
  const total = useNotebook((s) => s.training.totalSteps);
  const error = useNotebook((s) => s.training.error);
  const baseline = useNotebook((s) => s.baselineStatus);
  const loaded = useNotebook((s) => s.current !== null);
  const busy = status === 'starting' || status === 'running' || status === 'stopping';
  return (
    <div className="run-bar">
      <button type="button" className="primary" data-testid="run" {...shortcutProps('run')} disabled={!loaded} onClick={() => void controller.run()}>
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
        {status === 'running' && `Training… step ${formatInt(step)} of ${formatInt(total)}`}
        {status === 'stopping' && 'Stopping after this step…'}
        {status === 'stopped' && `Stopped at step ${formatInt(step)} of ${formatInt(total)}.`}
        {status === 'done' && 'Done.'}
        {status === 'error' && 'Training failed.'}
        {baseline.state === 'running' && ' Scoring the baselines…'}
      </span>
      {error && (
        <p className="error-box" role="alert" data-testid="training-error">
          {error}
          <span className="note">Press Run to try again; if it fails again, choose another backend (cpu always works) or smaller settings.</span>
        </p>
      )}
      {baseline.state === 'error' && (
        <p className="error-box" role="alert" data-testid="baseline-error">
          Baselines: {baseline.message}
        </p>
      )}
    </div>
  );
}
