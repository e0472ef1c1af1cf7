import { useNotebook } from '../../state/StoreContext';
import { formatBytes, formatInt } from '../format';

/** The progress line while an input is read, and the error box when the last one was rejected. */
export function LoadStatus() {
  const loading = useNotebook((s) => s.loading);
  const error = useNotebook((s) => s.loadError);
  const hasCurrent = useNotebook((s) => s.current !== null);
  return (
    <>
      {loading && (
        <p className="loading" data-testid="loading" aria-live="polite">
          Loading {loading.label}… {loading.phase} {loading.bytes > 0 && `${formatBytes(loading.bytes)}, ${formatInt(loading.tokens)} tokens`}
        </p>
      )}
      {error && (
        // Text only: React escapes it, so a hostile URL, file name or message cannot inject markup.
        <div className="error-box" role="alert" data-testid="load-error">
          <strong>Could not load {error.label || 'the trace set'}</strong>
          <p data-testid="load-error-message">{error.message}</p>
          <span className="note" data-testid="load-error-next">
            {hasCurrent ? 'The trace set loaded before is still shown. ' : ''}
            Check the file or address named above, then open it again, or choose another trace set (Demo, Files…, Folder…, or a URL).
          </span>
        </div>
      )}
    </>
  );
}
