import { keptRuns } from '../tasks/task';
import type { TraceChunk, TraceSet } from '../trace/types';

export interface DatasetSelection {
  /** Indices into manifest.datasets that the filter keeps; null keeps all (empty filter). */
  indices: number[] | null;
  /** Filter names the trace set does not have (reported, not fatal). */
  unknown: string[];
}

/** Resolves a spec's dataset names against a manifest's dataset list. */
export function resolveDatasets(all: readonly string[], names: readonly string[]): DatasetSelection {
  if (names.length === 0) return { indices: null, unknown: [] };
  const indices: number[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const i = all.indexOf(n);
    if (i < 0) unknown.push(n);
    else indices.push(i);
  }
  return { indices: indices.sort((a, b) => a - b), unknown };
}

/**
 * The tokens of the given datasets, in trace order (chunks without any are left out). Sequences stay whole:
 * a sequence belongs to one dataset. `indices` null returns the set itself.
 */
export function filterDatasets(set: TraceSet, indices: readonly number[] | null): TraceSet {
  if (indices === null) return set;
  const keep = new Set(indices);
  const chunks: TraceChunk[] = [];
  // Views of the kept runs: a filter on a large trace copies nothing.
  for (const c of set.chunks) keptRuns(c, set.manifest, (t) => keep.has(c.dataset[t]), chunks);
  return { manifest: set.manifest, chunks };
}
