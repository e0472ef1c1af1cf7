import { describe, expect, it } from 'vitest';
import { SHORTCUTS, shortcutFor, shortcutProps } from './table';

const key = (k: string, mods: Partial<KeyboardEvent> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, repeat: false, ...mods });

describe('shortcut table', () => {
  it('declares distinct ids and keys', () => {
    expect(new Set(SHORTCUTS.map((s) => s.id)).size).toBe(SHORTCUTS.length);
    expect(new Set(SHORTCUTS.map((s) => s.key)).size).toBe(SHORTCUTS.length);
  });
  it('maps keys to shortcuts outside text fields only, without modifiers', () => {
    expect(shortcutFor(key('r'), null)?.id).toBe('run');
    expect(shortcutFor(key('R'), null)?.id).toBe('run');
    expect(shortcutFor(key('?'), { tagName: 'BUTTON' } as unknown as EventTarget)?.id).toBe('help');
    expect(shortcutFor(key('r'), { tagName: 'INPUT', type: 'text' } as unknown as EventTarget)).toBeNull();
    expect(shortcutFor(key('r'), { tagName: 'INPUT', type: 'checkbox' } as unknown as EventTarget)?.id).toBe('run');
    expect(shortcutFor(key('r'), { tagName: 'TEXTAREA' } as unknown as EventTarget)).toBeNull();
    expect(shortcutFor(key('r', { ctrlKey: true }), null)).toBeNull();
    expect(shortcutFor(key('x'), null)).toBeNull();
  });
  it('gives buttons the label and key', () => {
    expect(shortcutProps('copy-link')).toEqual({ title: 'Copy the experiment link (L)', 'aria-keyshortcuts': 'L', 'data-shortcut': 'copy-link' });
  });
});
