/**
 * Analyses of a large trace set over several threads: the trace worker splits its chunks into contiguous parts
 * (src/core/analysis/parts.ts), moves each part's arrays to a helper worker (transfer, no copy), counts the
 * first part itself meanwhile, and takes the arrays back with the counts. The results equal one pass over the
 * whole set. While a part is away its chunks are unusable here, so callers run one operation at a time.
 */
import type { AnalysisCounts, AnalyzeOptions } from '../core/analysis/analyzer';
import { addCounts, analyzePart, planParts, seedRow } from '../core/analysis/parts';
import type { TraceChunk, TraceSet, TraceShape } from '../core/trace/types';

export interface PartRequest {
  id: number;
  shape: TraceShape;
  datasets: number[] | null;
  /** The part's chunks without token text: every typed array, as columns of a shard share one buffer. */
  chunks: TraceChunk[];
  seed: TraceChunk | null;
}

export type PartReply = { id: number; chunks: TraceChunk[]; counts: AnalysisCounts } | { id: number; chunks: TraceChunk[]; error: string };

/** What the pool needs of a worker (a Worker, or a stand-in in tests). */
export interface PartWorker {
  postMessage(msg: PartRequest, transfer: Transferable[]): void;
  onmessage: ((ev: MessageEvent<PartReply>) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  terminate(): void;
}

/** Below this many tokens one thread is quicker than starting helpers. */
export const PARALLEL_MIN_TOKENS = 500_000;

export function countsBuffers(c: AnalysisCounts): ArrayBuffer[] {
  return [c.selections, c.coactivation, c.transitions, c.reuseFirst, c.reuseAny].map((a) => a.buffer as ArrayBuffer);
}

/** Every buffer behind a chunk's typed arrays (columns decoded from one shard are views of one buffer). */
export function allBuffers(c: TraceChunk): ArrayBufferLike[] {
  return [...new Set([c.seq, c.pos, c.dataset, c.experts, c.tokenId, c.weights, c.logits, c.lookahead].filter((a) => a !== undefined).map((a) => a!.buffer))];
}

export interface PoolStats {
  /** Parts counted by helpers in the last analysis (0: it ran in one thread). */
  helperParts: number;
  /** Most chunks any one helper held at once. */
  maxChunksAway: number;
}

export class AnalysisPool {
  private readonly workers: PartWorker[] = [];
  private nextId = 0;
  readonly stats: PoolStats = { helperParts: 0, maxChunksAway: 0 };

  /** `helpers`: threads besides the caller's (e.g. hardwareConcurrency - 1). */
  constructor(
    private readonly helpers: number,
    private readonly spawn: () => PartWorker,
    private readonly minTokens = PARALLEL_MIN_TOKENS,
  ) {}

  /** Starts the helpers now (their modules load while the set is still being read). */
  warm(): void {
    for (let i = 0; i < this.helpers; i++) this.workers[i] ??= this.spawn();
  }

  /** Counts of the whole set; `set.chunks` entries are replaced by the same arrays once they come back. */
  async analyze(set: TraceSet, opts: AnalyzeOptions): Promise<AnalysisCounts> {
    const shape: TraceShape = { numLayers: set.manifest.numLayers, numExperts: set.manifest.numExperts, topK: set.manifest.topK };
    const tokens = set.chunks.reduce((n, c) => n + c.tokens, 0);
    const parts = this.helpers > 0 && tokens >= this.minTokens ? planParts(set.chunks, this.helpers + 1, opts.datasets) : [];
    this.stats.helperParts = 0;
    if (
      parts.length < 2 ||
      !this.disjoint(
        set.chunks,
        parts.map((p) => p.chunks),
      )
    )
      return analyzePart(shape, opts, set.chunks, null);
    const datasets = opts.datasets ? [...opts.datasets] : null;
    // Seeds are copied before any array leaves.
    const seeds = parts.map((p) => (p.seed ? seedRow(set.chunks[p.seed.chunk], p.seed.row, shape) : null));
    const away = parts.slice(1).map((p, i) => {
      const w = (this.workers[i] ??= this.spawn());
      const id = ++this.nextId;
      const chunks = p.chunks.map((ci): TraceChunk => {
        const { tokenText: _, ...arrays } = set.chunks[ci];
        return arrays;
      });
      this.stats.maxChunksAway = Math.max(this.stats.maxChunksAway, chunks.length);
      const done = new Promise<AnalysisCounts>((resolve, reject) => {
        w.onerror = (ev) => {
          ev.preventDefault?.();
          reject(new Error(`an analysis helper failed (${ev.message || 'out of memory?'}); load the trace set again`));
        };
        w.onmessage = (ev) => {
          const r = ev.data;
          if (r.id !== id) return;
          // The arrays are back: put them into the set's chunks (same shapes, other columns kept).
          r.chunks.forEach((back, k) => {
            const ci = p.chunks[k];
            set.chunks[ci] = { ...set.chunks[ci], ...back };
          });
          if ('error' in r) reject(new Error(r.error));
          else resolve(r.counts);
        };
      });
      w.postMessage({ id, shape, datasets, chunks, seed: seeds[i + 1] }, [...new Set(chunks.flatMap(allBuffers))] as ArrayBuffer[]);
      this.stats.helperParts++;
      return done;
    });
    const first = analyzePart(
      shape,
      opts,
      parts[0].chunks.map((ci) => set.chunks[ci]),
      null,
    );
    const rest = await Promise.all(away);
    for (const c of rest) addCounts(first, c);
    return first;
  }

  /** True when no buffer is shared between parts (else moving one part would take another's arrays). */
  private disjoint(chunks: readonly TraceChunk[], parts: number[][]): boolean {
    const owner = new Map<ArrayBufferLike, number>();
    for (let p = 0; p < parts.length; p++)
      for (const ci of parts[p])
        for (const b of allBuffers(chunks[ci])) {
          if (typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer) return false;
          const o = owner.get(b);
          if (o !== undefined && o !== p) return false;
          owner.set(b, p);
        }
    return true;
  }

  dispose(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
