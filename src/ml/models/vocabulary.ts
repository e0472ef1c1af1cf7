/**
 * The token-aware model's vocabulary, from the training split only: the most frequent token ids (or, for traces
 * that record token text but no ids, the most frequent texts) get indices 1..size-1; everything else, and tokens
 * whose id is unknown (-1), share index 0.
 */
import type { TraceChunk, TraceSet } from '../../core/trace/types';

export interface Vocabulary {
  /** 'id' when the trace has token ids, 'text' when it only has token text. */
  source: 'id' | 'text';
  /** Indices in use, including 0. */
  size: number;
  /** Share of the training tokens that got their own index. */
  coverage: number;
  /** The token id or text of each index from 1 on (keys[i] has index i + 1), for exports (../exportModel.ts). */
  keys: (number | string)[];
  indexOf(chunk: TraceChunk, row: number): number;
}

/** Why a trace cannot feed the token-aware model, or null when it can. */
export function tokenlessReason(set: TraceSet): string | null {
  const m = set.manifest;
  if (m.hasTokenIds || m.hasTokenText) return null;
  return `the token-aware model needs token ids or token text, and this trace (${m.model.name}) records neither; choose another model`;
}

export function buildVocabulary(train: TraceSet, maxSize: number): Vocabulary {
  const why = tokenlessReason(train);
  if (why) throw new Error(why);
  const source = train.manifest.hasTokenIds ? 'id' : 'text';
  const keyOf = (c: TraceChunk, r: number): string | number | null => {
    if (source === 'id') {
      const id = c.tokenId?.[r] ?? -1;
      return id >= 0 ? id : null;
    }
    return c.tokenText?.[r] ?? null;
  };
  const counts = new Map<string | number, number>();
  let total = 0;
  for (const c of train.chunks)
    for (let r = 0; r < c.tokens; r++) {
      total++;
      const k = keyOf(c, r);
      if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  // Most frequent first; ties by key, so the vocabulary does not depend on the order tokens were seen in.
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0)).slice(0, maxSize - 1);
  const index = new Map(ranked.map(([k], i) => [k, i + 1]));
  const covered = ranked.reduce((a, [, n]) => a + n, 0);
  return {
    source,
    size: ranked.length + 1,
    coverage: total ? covered / total : 0,
    keys: ranked.map(([k]) => k),
    indexOf(c, r) {
      const k = keyOf(c, r);
      return k === null ? 0 : (index.get(k) ?? 0);
    },
  };
}
