// The short fuzz run of the suite: a few hundred mutated shards, manifests and routing logs through the
// guarded worker path; every case must be accepted or rejected with a clear message, none may crash or hang.
// The long run is `npm run fuzz -- --cases 100000` (docs/reliability.md).
import { describe, expect, it } from 'vitest';
import { GuardedDecoder } from '../cli/guardedDecode';
import { TraceError } from '../core/trace/types';
import { buildCorpus } from './corpus';
import { mutate, TEXT_MUTATIONS, BYTE_MUTATIONS } from './mutate';
import { isClearMessage, makeCase, runFuzz } from './run';
import { createRng } from '../core/experiment/rng';

describe('mutation fuzzer', () => {
  it('replays a case from its seed and index', async () => {
    const seeds = await buildCorpus();
    const a = makeCase(seeds, 7, 123);
    const b = makeCase(seeds, 7, 123);
    expect(a.seed.name).toBe(b.seed.name);
    expect(a.steps).toEqual(b.steps);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });

  it('has every kind of seed and mutation', async () => {
    const seeds = await buildCorpus();
    expect(new Set(seeds.map((s) => s.target))).toEqual(new Set(['decode', 'inspect', 'traceset', 'jsonl', 'csv']));
    const rng = createRng(1);
    const text = new TextEncoder().encode('{"layer": 1, "experts": [1, 2]}\n');
    for (const m of [...BYTE_MUTATIONS, ...TEXT_MUTATIONS]) expect(m.apply(text, rng, text)).toBeInstanceOf(Uint8Array);
    expect(mutate(text, true, rng, text).steps.length).toBeGreaterThanOrEqual(1);
  });

  it('tells clear messages from leaked internal errors', () => {
    expect(isClearMessage(new TraceError('column "seq" has type Utf8, expected int32', 'a.arrow'))).toBe(true);
    expect(isClearMessage(new TraceError("not a readable Arrow IPC shard (Cannot read properties of null (reading 'fieldsLength'))", 'a.arrow'))).toBe(false);
    expect(isClearMessage(new TraceError('not a readable Arrow IPC shard (9007199254740993 is not safe to convert to a number.)', 'a.arrow'))).toBe(false);
  });

  it('500 cases: no crash, no hang over 1 s, every rejection clear', async () => {
    const seeds = await buildCorpus();
    const runner = new GuardedDecoder({ baseMs: 1000, msPerMB: 0, maxHeapMb: 2048 });
    try {
      const r = await runFuzz(runner, seeds, { cases: 500, seed: 20261126 });
      const bad = r.findings.map((f) => `case ${f.index} ${f.seed} [${f.steps.join('+')}] ${f.outcome}: ${f.message}`);
      expect(bad).toEqual([]);
      expect(r.crashes + r.hangs + r.unclear).toBe(0);
      expect(r.cases).toBe(500);
      expect(r.rejected).toBeGreaterThan(200);
      expect(Object.keys(r.byTarget).length).toBe(5);
    } finally {
      await runner.close();
    }
  }, 30_000);
});
