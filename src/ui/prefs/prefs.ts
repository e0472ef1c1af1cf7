/**
 * Settings of this browser, not of an experiment (never in a link): the colour theme (following the system unless
 * overridden) and the figure layout of charts. Kept in localStorage, read back through a schema; applied to the
 * document element as data-theme / data-figure, which app.css reads.
 */
import { z } from 'zod';
import { createStore } from 'zustand/vanilla';

export const THEMES = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof THEMES)[number];

const KEY = 'speclab.prefs';
const prefsSchema = z.object({ theme: z.enum(THEMES).catch('system'), figure: z.boolean().catch(false) });

export interface Prefs {
  theme: ThemeChoice;
  /** Charts (on screen and exported) in the paper layout: light colours, serif text, larger labels. */
  figure: boolean;
  setTheme(t: ThemeChoice): void;
  /** system → light → dark → system. */
  cycleTheme(): void;
  setFigure(on: boolean): void;
}

function read(): { theme: ThemeChoice; figure: boolean } {
  try {
    const raw = globalThis.localStorage?.getItem(KEY);
    return prefsSchema.parse(raw ? JSON.parse(raw) : {});
  } catch {
    return { theme: 'system', figure: false };
  }
}

export const prefsStore = createStore<Prefs>()((set, get) => ({
  ...read(),
  setTheme: (theme) => set({ theme }),
  cycleTheme: () => set({ theme: THEMES[(THEMES.indexOf(get().theme) + 1) % THEMES.length] }),
  setFigure: (figure) => set({ figure }),
}));

function apply({ theme, figure }: Prefs): void {
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
  if (figure) root.dataset.figure = '1';
  else delete root.dataset.figure;
}

apply(prefsStore.getState());
prefsStore.subscribe((p) => {
  apply(p);
  try {
    globalThis.localStorage?.setItem(KEY, JSON.stringify({ theme: p.theme, figure: p.figure }));
  } catch {
    // Storage off (private mode): the choice holds for this page.
  }
});
