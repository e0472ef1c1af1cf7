import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { NotebookState, NotebookStore } from './notebookStore';
import type { NotebookController } from './controller';

interface NotebookHandle {
  store: NotebookStore;
  /** Side effects the UI asks for (load files, run, stop); state changes go through the store. */
  controller: NotebookController;
}

const NotebookContext = createContext<NotebookHandle | null>(null);

export function NotebookProvider({ store, controller, children }: NotebookHandle & { children: ReactNode }) {
  return <NotebookContext.Provider value={{ store, controller }}>{children}</NotebookContext.Provider>;
}

function useHandle(): NotebookHandle {
  const h = useContext(NotebookContext);
  if (!h) throw new Error('notebook hooks used outside <NotebookProvider>');
  return h;
}

/** Subscribes to one slice; keep selectors narrow and return existing references (no new objects). */
export function useNotebook<T>(selector: (s: NotebookState) => T): T {
  return useStore(useHandle().store, selector);
}

/** The store itself, for handlers that read state when they run (key presses, exports). */
export function useNotebookStore(): NotebookStore {
  return useHandle().store;
}

/** The store, or null outside a notebook (charts rendered on their own, e.g. in tests). */
export function useOptionalNotebookStore(): NotebookStore | null {
  return useContext(NotebookContext)?.store ?? null;
}

export function useController(): NotebookController {
  return useHandle().controller;
}
