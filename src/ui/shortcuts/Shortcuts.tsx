import { useEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { PANELS } from '../../core/experiment/spec';
import { useController, useNotebookStore } from '../../state/StoreContext';
import { prefsStore } from '../prefs/prefs';
import { shortcut, SHORTCUTS, shortcutFor, shortcutProps, type ShortcutId } from './table';

/**
 * The page's key handler and the "?" help overlay. Shortcuts with a button click it (a disabled or absent button
 * does nothing, except Run/Stop/Resume, which act on the experiment from any view).
 */
export function Shortcuts() {
  const store = useNotebookStore();
  const controller = useController();
  const [open, setOpen] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const fallback: Partial<Record<ShortcutId, () => void>> = {
      run: () => {
        store.getState().setPanel('training');
        void controller.run();
      },
      stop: () => controller.stop(),
      resume: () => void controller.resume(),
    };
    const act = (id: ShortcutId) => {
      const button = document.querySelector<HTMLButtonElement>(`button[data-shortcut="${id}"]`);
      if (button) {
        if (!button.disabled) button.click();
        return;
      }
      const s = store.getState();
      const i = PANELS.indexOf(s.spec.view.panel);
      if (id === 'prev-view') s.setPanel(PANELS[(i + PANELS.length - 1) % PANELS.length]);
      else if (id === 'next-view') s.setPanel(PANELS[(i + 1) % PANELS.length]);
      else if (id === 'theme') prefsStore.getState().cycleTheme();
      else if (id === 'figure') prefsStore.getState().setFigure(!prefsStore.getState().figure);
      else if (id === 'help') setOpen((o) => !o);
      else fallback[id]?.();
    };
    const onKey = (e: KeyboardEvent) => {
      const s = shortcutFor(e, e.target);
      if (!s) return;
      e.preventDefault();
      act(s.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, controller]);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);

  return (
    <>
      <button type="button" className="help-button" {...shortcutProps('help')} onClick={() => setOpen(true)}>
        Shortcuts
      </button>
      <dialog ref={dialog} className="shortcut-help" data-testid="shortcut-help" aria-labelledby="shortcut-help-title" onClose={() => setOpen(false)}>
        <h2 id="shortcut-help-title">Keyboard shortcuts</h2>
        <table>
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.id} data-testid="shortcut-row" data-id={s.id}>
                <th scope="row">
                  <kbd>{s.aria}</kbd>
                </th>
                <td>{s.label}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">
                <kbd>Esc</kbd>
              </th>
              <td>Close this list</td>
            </tr>
          </tbody>
        </table>
        <p className="muted small">Shortcuts are off while typing in a field.</p>
        <button type="button" onClick={() => setOpen(false)}>
          Close
        </button>
      </dialog>
    </>
  );
}

/** Theme (system / light / dark) and the figure layout, kept in this browser. */
export function PrefsBar() {
  const theme = useStore(prefsStore, (p) => p.theme);
  const figure = useStore(prefsStore, (p) => p.figure);
  return (
    <div className="prefs-bar">
      <button type="button" data-testid="theme-toggle" data-theme-choice={theme} {...shortcutProps('theme')} onClick={() => prefsStore.getState().cycleTheme()}>
        Theme: {theme}
      </button>
      <label className="small" title={shortcutProps('figure').title}>
        <input
          type="checkbox"
          data-testid="figure-toggle"
          aria-keyshortcuts={shortcut('figure').aria}
          checked={figure}
          onChange={(e) => prefsStore.getState().setFigure(e.currentTarget.checked)}
        />{' '}
        Figure layout
      </label>
      <Shortcuts />
    </div>
  );
}
