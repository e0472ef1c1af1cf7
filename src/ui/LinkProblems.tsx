import { useNotebook } from '../state/StoreContext';

/** What was wrong with the link this page was opened with: shown as text, never acted on. */
export function LinkProblems() {
  const messages = useNotebook((s) => s.linkMessages);
  const dismiss = useNotebook((s) => s.dismissLinkMessages);
  if (messages.length === 0) return null;
  return (
    <div className="error-box" role="alert" data-testid="link-problems">
      <strong>Some of this link was not used</strong>
      <ul>
        {messages.map((m, i) => (
          <li key={i} data-testid="link-problem">
            {m}
          </li>
        ))}
      </ul>
      <span className="note" data-testid="link-problems-next">
        The page uses defaults where the link was refused. Check the values in the form below, or ask for the link again (Copy link writes a complete one).
      </span>
      <button type="button" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
