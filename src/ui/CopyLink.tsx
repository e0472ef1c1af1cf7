import { useEffect, useState } from 'react';
import { encodeCompactHash } from '../core/experiment/compactLink';
import { errorText } from '../state/errorText';
import { useNotebook } from '../state/StoreContext';
import { shortcutProps } from './shortcuts/table';

/** The experiment as a compact link (the whole spec, compressed, in the hash) and a button that copies it. */
export function CopyLink() {
  const hash = useNotebook((s) => encodeCompactHash(s.spec));
  const [note, setNote] = useState('');
  const [copies, setCopies] = useState(0);
  // "Copied." is news for a moment, not a state: it clears after a few seconds (a failure stays until the next try).
  useEffect(() => {
    if (note !== 'Copied.') return;
    const t = setTimeout(() => setNote(''), 4000);
    return () => clearTimeout(t);
  }, [note, copies]);
  const link = `${location.origin}${location.pathname}#${hash}`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setNote('Copied.');
      setCopies((n) => n + 1);
    } catch (e) {
      setNote(`Could not copy (${errorText(e)}); select the link beside and copy it with Ctrl+C.`);
    }
  };
  return (
    <div className="copy-link">
      <button type="button" data-testid="copy-link" {...shortcutProps('copy-link')} onClick={() => void copy()}>
        Copy link
      </button>
      <input type="text" readOnly aria-label="Experiment link" data-testid="experiment-link" value={link} onFocus={(e) => e.currentTarget.select()} />
      <span className="muted small" data-testid="copy-note" aria-live="polite">
        {note}
      </span>
    </div>
  );
}
