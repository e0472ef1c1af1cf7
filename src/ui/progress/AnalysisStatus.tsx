import { datasetsKey } from '../../state/slices/analysisSlice';
import { useNotebook } from '../../state/StoreContext';
import { formatInt } from '../format';

/**
 * Progress of the analyses (after a load or a dataset filter change): shown while the numbers on screen are not
 * yet those of the set and filter chosen; and what to do when they failed.
 */
export function AnalysisStatus() {
  const pending = useNotebook((s) => {
    if (!s.current || s.loading || s.analysisError) return false;
    const a = s.analysis;
    return !a || a.traceId !== s.current.id || a.datasetsKey !== datasetsKey(s.spec.datasets);
  });
  const tokens = useNotebook((s) => s.current?.info.tokens ?? 0);
  const error = useNotebook((s) => s.analysisError);
  if (error)
    return (
      <p className="error-box" role="alert" data-testid="analysis-error">
        {error}
        <span className="note">The views show the last numbers computed. Change the dataset filter to try again, or open the trace set again.</span>
      </p>
    );
  if (!pending) return null;
  return (
    <p className="loading" role="status" data-testid="analysis-progress">
      Computing routing statistics, co-activation and transitions over {formatInt(tokens)} tokens…
    </p>
  );
}
