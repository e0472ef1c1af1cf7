import { useAppStore } from '../state/StoreContext';
import { formatBytes, formatInt } from './format';

/** The loading line while a trace set is read, or the error box when it could not be. */
export function LoadStatus() {
  const status = useAppStore((s) => s.load.status);
  const bytes = useAppStore((s) => (s.load.status === 'loading' ? s.load.bytes : 0));
  const tokens = useAppStore((s) => (s.load.status === 'loading' ? s.load.tokens : 0));
  const message = useAppStore((s) => (s.load.status === 'error' ? s.load.message : ''));
  const traceUrl = useAppStore((s) => s.traceUrl);

  if (status === 'loading' || status === 'idle') {
    return (
      <p className="loading" data-testid="loading" aria-live="polite">
        Loading trace set… {bytes > 0 && `${formatBytes(bytes)}, ${formatInt(tokens)} tokens`}
      </p>
    );
  }
  if (status === 'error') {
    // Text only: React escapes it, so a hostile URL or message cannot inject markup.
    return (
      <div className="error-box" role="alert" data-testid="load-error">
        <strong>Could not load the trace set{traceUrl ? ` ${traceUrl}` : ''}</strong>
        <p data-testid="load-error-message">{message}</p>
      </div>
    );
  }
  return null;
}
