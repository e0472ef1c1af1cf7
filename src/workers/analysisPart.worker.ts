/**
 * An analysis helper of the trace worker: counts one contiguous part of the loaded trace set and hands its
 * arrays back (they are moved here and back, never copied). See analysisPool.ts.
 */
import { analyzePart } from '../core/analysis/parts';
import { allBuffers, countsBuffers, type PartReply, type PartRequest } from './analysisPool';

self.onmessage = (ev: MessageEvent<PartRequest>) => {
  const { id, shape, datasets, chunks, seed } = ev.data;
  const buffers = [...new Set(chunks.flatMap(allBuffers))] as ArrayBuffer[];
  let reply: PartReply;
  try {
    const counts = analyzePart(shape, datasets ? { datasets: new Set(datasets) } : {}, chunks, seed);
    reply = { id, chunks, counts };
    (self as unknown as Worker).postMessage(reply, [...buffers, ...countsBuffers(counts)]);
  } catch (e) {
    reply = { id, chunks, error: e instanceof Error ? e.message : String(e) };
    (self as unknown as Worker).postMessage(reply, buffers);
  }
};
