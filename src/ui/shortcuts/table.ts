/**
 * Every keyboard shortcut, declared once: the key handler, the buttons' titles and aria-keyshortcuts, and the help
 * overlay all read this table. A shortcut with a button acts by clicking it (so a disabled button does nothing).
 */
export interface Shortcut<Id extends string = string> {
  id: Id;
  /** KeyboardEvent.key that triggers it (no Ctrl/Alt/Meta). */
  key: string;
  /** The key as aria-keyshortcuts and the help show it. */
  aria: string;
  label: string;
}

export const SHORTCUTS = [
  { id: 'run', key: 'r', aria: 'R', label: 'Run: score the baselines and train the model' },
  { id: 'stop', key: 's', aria: 'S', label: 'Stop training after the current step' },
  { id: 'resume', key: 'u', aria: 'U', label: 'Resume a stopped run' },
  { id: 'copy-link', key: 'l', aria: 'L', label: 'Copy the experiment link' },
  { id: 'prev-view', key: '[', aria: '[', label: 'Previous view' },
  { id: 'next-view', key: ']', aria: ']', label: 'Next view' },
  { id: 'theme', key: 't', aria: 'T', label: 'Theme: system, light, dark' },
  { id: 'figure', key: 'f', aria: 'F', label: 'Figure layout for papers on / off' },
  { id: 'help', key: '?', aria: 'Shift+?', label: 'Show these shortcuts' },
] as const satisfies readonly Shortcut[];

export type ShortcutId = (typeof SHORTCUTS)[number]['id'];

const BY_ID = new Map<string, Shortcut<ShortcutId>>(SHORTCUTS.map((s) => [s.id, s]));

export function shortcut(id: ShortcutId): Shortcut<ShortcutId> {
  return BY_ID.get(id)!;
}

/** Props that tie a button to its shortcut: title with the key, aria-keyshortcuts, and the handler's hook. */
export function shortcutProps(id: ShortcutId): { title: string; 'aria-keyshortcuts': string; 'data-shortcut': string } {
  const s = shortcut(id);
  return { title: `${s.label} (${s.aria})`, 'aria-keyshortcuts': s.aria, 'data-shortcut': s.id };
}

/** The shortcut a key press means, or null (typing in a field, modifier keys, auto-repeat). */
export function shortcutFor(
  e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'repeat'>,
  target: EventTarget | null,
): Shortcut<ShortcutId> | null {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return null;
  const el = target as { tagName?: string; isContentEditable?: boolean; type?: string } | null;
  const tag = el?.tagName?.toLowerCase();
  if (
    el?.isContentEditable ||
    tag === 'textarea' ||
    tag === 'select' ||
    (tag === 'input' && !['checkbox', 'radio', 'button', 'range'].includes(el?.type ?? ''))
  )
    return null;
  return (SHORTCUTS as readonly Shortcut<ShortcutId>[]).find((s) => s.key === e.key || s.key === e.key.toLowerCase()) ?? null;
}
