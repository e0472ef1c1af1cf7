import { PANELS, type Panel } from '../core/experiment/spec';
import { useNotebook } from '../state/StoreContext';

const TITLES: Record<Panel, string> = {
  overview: 'Overview',
  coactivation: 'Co-activation',
  transitions: 'Transitions',
  reuse: 'Reuse',
  tokens: 'Tokens',
  training: 'Speculation model',
};

/** The view switcher; the selected view is part of the experiment URL. */
export function Tabs() {
  const panel = useNotebook((s) => s.spec.view.panel);
  const setPanel = useNotebook((s) => s.setPanel);
  return (
    <nav className="tabs" role="tablist" aria-label="Views">
      {PANELS.map((p) => (
        <button key={p} type="button" role="tab" aria-selected={p === panel} data-testid={`tab-${p}`} onClick={() => setPanel(p)}>
          {TITLES[p]}
        </button>
      ))}
    </nav>
  );
}
