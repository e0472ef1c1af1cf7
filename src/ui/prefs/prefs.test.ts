import { afterEach, describe, expect, it, vi } from 'vitest';

function storage(initial: Record<string, string>) {
  const m = new Map(Object.entries(initial));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), map: m };
}

async function load(initial: Record<string, string>) {
  vi.resetModules();
  const s = storage(initial);
  vi.stubGlobal('localStorage', s);
  const { prefsStore } = await import('./prefs');
  return { prefsStore, s };
}

afterEach(() => vi.unstubAllGlobals());

describe('browser preferences', () => {
  it('read back what was kept, and keep every change', async () => {
    const { prefsStore, s } = await load({ 'speclab.prefs': '{"theme":"dark","figure":true}' });
    expect(prefsStore.getState()).toMatchObject({ theme: 'dark', figure: true });
    prefsStore.getState().cycleTheme();
    expect(prefsStore.getState().theme).toBe('system');
    prefsStore.getState().setFigure(false);
    expect(JSON.parse(s.map.get('speclab.prefs')!)).toEqual({ theme: 'system', figure: false });
  });
  it('fall back to the system theme on anything unreadable', async () => {
    for (const raw of ['{nope', '{"theme":"<b>","figure":"yes"}', 'null']) {
      const { prefsStore } = await load({ 'speclab.prefs': raw });
      expect(prefsStore.getState()).toMatchObject({ theme: 'system', figure: false });
    }
  });
});
