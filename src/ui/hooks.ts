import { useDeferredValue } from 'react';
import type { Manifest } from '../core/trace/types';
import { useNotebook } from '../state/StoreContext';
import type { Analysis } from '../state/slices/analysisSlice';

/** The manifest of the trace set on screen, or null before one loaded. */
export function useManifest(): Manifest | null {
  return useNotebook((s) => s.current?.info.manifest ?? null);
}

/**
 * The analyses of the set on screen under the current dataset filter (the last ones while new ones compute).
 * Deferred: charts of new numbers render as an interruptible transition in small slices, not in one long task.
 */
export function useAnalysis(): Analysis | null {
  return useDeferredValue(useNotebook((s) => s.analysis));
}

/** The selected layer, clamped to the set's layers (a link may name a layer this set lacks). */
export function useLayer(count: number): number {
  const layer = useNotebook((s) => s.spec.view.layer);
  return Math.min(layer, Math.max(0, count - 1));
}
