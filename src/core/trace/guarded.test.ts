// GuardedRunner's contract, with scripted workers (no real hang needed): a job past its budget or a dying
// worker is rejected with a TraceError naming the input, the worker is terminated, and the next job runs on
// a fresh worker; budgets start only once the worker says it is ready.
import { describe, expect, it } from 'vitest';
import { runDecodeJob, WORKER_READY, type DecodeJob } from './decodeJobs';
import { DecodeTimeout, DecoderFault, GuardedRunner, type WorkerHandle } from './guarded';
import { encodeShard } from './shard';
import { syntheticTrace } from './synthetic';
import { TraceError } from './types';

type Behaviour = 'works' | 'hangs' | 'dies' | 'slow-start' | 'never-ready';

/** A worker that runs jobs in process (as the real one does), or misbehaves as told. */
function scripted(behaviour: Behaviour, log: string[]): WorkerHandle {
  let onMessage: (d: unknown) => void = () => {};
  let onFailure: (why: string) => void = () => {};
  let alive = true;
  if (behaviour !== 'never-ready') setTimeout(() => alive && onMessage(WORKER_READY), behaviour === 'slow-start' ? 300 : 0);
  return {
    post: (msg) => {
      const job = msg as DecodeJob;
      log.push(`${behaviour}:${job.kind}`);
      if (behaviour === 'hangs') return;
      if (behaviour === 'dies') return void setTimeout(() => onFailure('decoder exited with code 1 (out of memory?)'), 5);
      void runDecodeJob(job).then(({ reply }) => alive && onMessage(reply));
    },
    listen: (m, f) => {
      onMessage = m;
      onFailure = f;
    },
    terminate: () => {
      alive = false;
      log.push(`terminate:${behaviour}`);
    },
  };
}

const set = syntheticTrace({ tokens: 50, numLayers: 3, numExperts: 8, topK: 2, seqLen: 10 });
const shard = encodeShard(set.chunks[0], set.manifest);

describe('GuardedRunner', () => {
  it('rejects a job past its budget, stops that worker and decodes the next job on a fresh one', async () => {
    const log: string[] = [];
    const plan: Behaviour[] = ['hangs', 'works'];
    const runner = new GuardedRunner(() => scripted(plan.shift()!, log), { baseMs: 100, msPerMB: 0 });
    const err = await runner.decode(shard, set.manifest, 'bad.arrow', 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeTimeout);
    expect(err).toBeInstanceOf(TraceError);
    expect((err as Error).message).toMatch(/^bad\.arrow: reading took longer than 100 ms/);
    const chunk = await runner.decode(shard, set.manifest, 'good.arrow', 50);
    expect(chunk.tokens).toBe(50);
    expect(log).toEqual(['hangs:decode', 'terminate:hangs', 'works:decode']);
    runner.close();
  });

  it('reports a dead worker as a DecoderFault naming the input, then recovers', async () => {
    const log: string[] = [];
    const plan: Behaviour[] = ['dies', 'works'];
    const runner = new GuardedRunner(() => scripted(plan.shift()!, log), { baseMs: 2000 });
    await expect(runner.decode(shard, set.manifest, 'x.arrow', 50)).rejects.toThrow(DecoderFault);
    await expect(runner.decode(shard, set.manifest, 'x.arrow', 50)).resolves.toMatchObject({ tokens: 50 });
    runner.close();
  });

  it('passes clean rejections through as TraceErrors, without restarting the worker', async () => {
    const log: string[] = [];
    const runner = new GuardedRunner(() => scripted('works', log), { baseMs: 2000 });
    await expect(runner.decode(shard.subarray(0, 10), set.manifest, 'cut.arrow')).rejects.toThrow(/^cut\.arrow: only 10 bytes/);
    const err = await runner.decode(shard, set.manifest, 'n.arrow', 7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceError);
    expect(err).not.toBeInstanceOf(DecoderFault);
    expect(log.filter((l) => l.startsWith('terminate'))).toEqual([]);
    runner.close();
  });

  it('starts the budget once the worker is ready, and runs jobs one at a time in order', async () => {
    const log: string[] = [];
    const runner = new GuardedRunner(() => scripted('slow-start', log), { baseMs: 150, msPerMB: 0 });
    const results = await Promise.all([1, 2, 3].map((i) => runner.decode(shard, set.manifest, `s${i}.arrow`, 50)));
    expect(results.map((c) => c.tokens)).toEqual([50, 50, 50]);
    runner.close();
  });

  it('fails jobs waiting for a worker that never starts (startup limit, or closed), and starts afresh after', async () => {
    const plan: Behaviour[] = ['never-ready', 'never-ready', 'works'];
    const runner = new GuardedRunner(() => scripted(plan.shift()!, []), { baseMs: 100, startupMs: 200 });
    runner.warm();
    await expect(runner.decode(shard, set.manifest, 'a.arrow', 50)).rejects.toThrow(/did not start within 200 ms/);
    const waiting = runner.decode(shard, set.manifest, 'b.arrow', 50);
    await new Promise((r) => setTimeout(r, 20));
    runner.close();
    await expect(waiting).rejects.toThrow(DecoderFault);
    await expect(runner.decode(shard, set.manifest, 'c.arrow', 50)).resolves.toMatchObject({ tokens: 50 });
    runner.close();
  });

  it("keeps the caller's bytes (the worker gets a copy)", async () => {
    const runner = new GuardedRunner(() => scripted('works', []), { baseMs: 2000 });
    const mine = shard.slice();
    await runner.decode(mine, set.manifest, 'a.arrow', 50);
    expect(mine.length).toBe(shard.length);
    runner.close();
  });
  it('gives raw-log imports their own per-MB budget', async () => {
    const log: string[] = [];
    const runner = new GuardedRunner(() => scripted('hangs', log), { baseMs: 100, msPerMB: 0, importMsPerMB: 4e6 });
    const csv = 'Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,a,"[1, 2]"\n';
    // 100 ms + 4 ms per byte for the import; the shard's job keeps msPerMB (0).
    await expect(runner.importFiles([{ name: 'p.csv', data: csv }])).rejects.toThrow(`p.csv: reading took longer than ${100 + 4 * csv.length} ms`);
    await expect(runner.decode(shard, set.manifest, 's.arrow', 50)).rejects.toThrow(/^s\.arrow: reading took longer than 100 ms/);
    runner.close();
  });
});
