import { describe, expect, it } from 'vitest';
import { analyzePart, planParts } from '../core/analysis/parts';
import { analyze } from '../core/analysis/stats';
import { rechunk } from '../core/trace/chunk';
import { syntheticTrace } from '../core/trace/synthetic';
import type { TraceSet } from '../core/trace/types';
import { AnalysisPool, countsBuffers, type PartReply, type PartRequest, type PartWorker } from './analysisPool';

/**
 * A helper worker in this thread: messages cross by structuredClone with transfer, as between real workers,
 * so a transferred array is detached on the sending side. Records how many chunks it holds at once.
 */
class CloneWorker implements PartWorker {
  onmessage: ((ev: MessageEvent<PartReply>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  held = 0;
  maxHeld = 0;
  constructor(private readonly fail = false) {}
  postMessage(msg: PartRequest, transfer: Transferable[]): void {
    const req = structuredClone(msg, { transfer });
    this.held += req.chunks.length;
    this.maxHeld = Math.max(this.maxHeld, this.held);
    setTimeout(() => {
      const buffers = [...new Set(req.chunks.flatMap((c) => [c.seq.buffer, c.pos.buffer, c.dataset.buffer, c.experts.buffer]))] as ArrayBuffer[];
      let reply: PartReply;
      if (this.fail) reply = structuredClone({ id: req.id, chunks: req.chunks, error: 'planted failure' }, { transfer: buffers });
      else {
        const counts = analyzePart(req.shape, req.datasets ? { datasets: new Set(req.datasets) } : {}, req.chunks, req.seed);
        reply = structuredClone({ id: req.id, chunks: req.chunks, counts }, { transfer: [...buffers, ...countsBuffers(counts)] });
      }
      this.held -= req.chunks.length;
      this.onmessage?.({ data: reply } as MessageEvent<PartReply>);
    }, 5);
  }
  terminate(): void {}
}

/** A set whose shards each own one buffer (as decoded shards do): the routing columns are views of it. */
function shardedSet(shards: number): TraceSet {
  const set = syntheticTrace({
    tokens: 24_000,
    numLayers: 8,
    numExperts: 8,
    topK: 2,
    seqLen: 300,
    seed: 9,
    datasets: ['a', 'b', 'c'],
    datasetSkew: true,
    withWeights: false,
  });
  const chunks = rechunk(set, Math.ceil(24_000 / shards)).map((c) => {
    const bytes = new ArrayBuffer(c.tokens * (4 + 4 + 2) + c.experts.byteLength + 8);
    const seq = new Int32Array(bytes, 0, c.tokens);
    const pos = new Int32Array(bytes, 4 * c.tokens, c.tokens);
    const experts = new Int16Array(bytes, 8 * c.tokens, c.experts.length);
    const dataset = new Uint16Array(bytes, 8 * c.tokens + c.experts.byteLength, c.tokens);
    seq.set(c.seq);
    pos.set(c.pos);
    experts.set(c.experts);
    dataset.set(c.dataset);
    return { tokens: c.tokens, seq, pos, dataset, experts };
  });
  return { manifest: set.manifest, chunks };
}

describe('analyses streamed over shards in helper workers', () => {
  it('equal the all-at-once result, with every shard back in place and no helper holding more than its part', async () => {
    const set = shardedSet(12);
    const copy = set.chunks.map((c) => c.experts.slice());
    for (const datasets of [undefined, new Set([0, 2])]) {
      const helpers: CloneWorker[] = [];
      const pool = new AnalysisPool(3, () => helpers[helpers.push(new CloneWorker()) - 1], 1000);
      const expected = analyze(set, { datasets });
      const got = await pool.analyze(set, { datasets });
      expect([...got.transitions]).toEqual([...expected.transitions]);
      expect([...got.coactivation]).toEqual([...expected.coactivation]);
      expect([...got.reuseAny]).toEqual([...expected.reuseAny]);
      expect([got.tokens, got.sequences, got.consecutivePairs]).toEqual([expected.tokens, expected.sequences, expected.consecutivePairs]);
      // Three helpers took a part each (a quarter of the kept tokens); the arrays moved (no copy) and came back whole.
      const helperParts = planParts(set.chunks, 4, datasets)
        .slice(1)
        .map((p) => p.chunks.length);
      if (!datasets) expect(helperParts).toEqual([3, 3, 3]);
      expect(pool.stats.helperParts).toBe(3);
      expect(helpers).toHaveLength(3);
      expect(helpers.map((h) => h.maxHeld).sort()).toEqual([...helperParts].sort());
      expect(pool.stats.maxChunksAway).toBe(Math.max(...helperParts));
      set.chunks.forEach((c, i) => expect(c.experts.length === copy[i].length && c.experts.every((v, j) => v === copy[i][j]), `shard ${i}`).toBe(true));
    }
  });

  it('moves arrays instead of copying them, and counts small sets in one thread', async () => {
    const set = shardedSet(4);
    const moved = set.chunks[3].experts;
    const pool = new AnalysisPool(1, () => new CloneWorker(), 1000);
    const p = pool.analyze(set, {});
    expect(moved.length).toBe(0); // detached: it left this thread instead of being copied
    await p;
    expect(set.chunks[3].experts.length).toBe(set.chunks[3].tokens * 16);
    const small = new AnalysisPool(1, () => new CloneWorker(), 1e9);
    await small.analyze(set, {});
    expect(small.stats.helperParts).toBe(0);
  });

  it('reports a helper failure, with the arrays returned', async () => {
    const set = shardedSet(4);
    const pool = new AnalysisPool(1, () => new CloneWorker(true), 1000);
    await expect(pool.analyze(set, {})).rejects.toThrow('planted failure');
    expect(set.chunks.every((c) => c.experts.length === c.tokens * 16)).toBe(true);
  });
});
