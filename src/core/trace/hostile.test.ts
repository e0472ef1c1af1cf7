// Hostile Arrow inputs through the decode path the page's Web Worker runs (runDecodeJob, in process here):
// the published OSS-Fuzz files of ../shared/arrow-fuzz/ and the fuzzer's own findings in fixtures/regressions/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modernizeLegacyStream } from '../../fuzz/legacy';
import { isClearMessage } from '../../fuzz/run';
import { runDecodeJob, type DecodeJob } from './decodeJobs';
import { parseManifest } from './manifest';
import { decodeShard } from './shard';
import { TraceError, type Manifest } from './types';

const HOSTILE = fileURLToPath(new URL('../../../../shared/arrow-fuzz/', import.meta.url));
const REGRESSIONS = fileURLToPath(new URL('./fixtures/regressions/', import.meta.url));
const DEMO = fileURLToPath(new URL('../../../traces/demo/manifest.json', import.meta.url));
/** Per input, in process; apache-arrow alone ran > 40 s on several of the regression files. */
const TIME_BOUND_MS = 1000;

const demo = parseManifest(readFileSync(DEMO, 'utf8'));
const hostile = existsSync(HOSTILE)
  ? readdirSync(HOSTILE)
      .filter((f) => f.startsWith('arrow-ipc'))
      .sort()
  : [];

/** Runs a job as the worker does; returns the reply and the wall time. */
async function job(j: DecodeJob) {
  const t0 = performance.now();
  const { reply } = await runDecodeJob(j);
  return { reply, ms: performance.now() - t0 };
}

function expectCleanRejection(reply: Awaited<ReturnType<typeof job>>['reply'], where: string): string {
  expect(reply.ok, `${where} was accepted`).toBe(false);
  if (reply.ok) return '';
  expect(reply.fault, `${where}: ${reply.message}`).toBe(false);
  expect(reply.where).toBe(where);
  const err = new TraceError(reply.message, reply.where);
  expect(isClearMessage(err), err.message).toBe(true);
  return reply.message;
}

describe.skipIf(hostile.length === 0)('the published hostile Arrow files (../shared/arrow-fuzz)', () => {
  // Most of the set uses the pre-0.15 stream framing, rejected at the first four bytes; rewritten in the
  // current framing (src/fuzz/legacy.ts) they reach the structure check and apache-arrow as well.
  const inputs = hostile.flatMap((name) => {
    const bytes = new Uint8Array(readFileSync(HOSTILE + name));
    const modern = modernizeLegacyStream(bytes);
    return modern
      ? [
          { name, bytes },
          { name: `${name} (current framing)`, bytes: modern },
        ]
      : [{ name, bytes }];
  });

  it(`rejects each of ${hostile.length} files (and the rewritten old-framing ones) cleanly, as a shard of a trace set and as a lone shard, each within ${TIME_BOUND_MS} ms`, async () => {
    expect(inputs.length).toBeGreaterThan(hostile.length + 20);
    let slowest = 0;
    for (const { name, bytes } of inputs) {
      for (const j of [
        { kind: 'decode', id: 0, bytes: bytes.slice(), manifest: demo, where: name, tokens: 1024 },
        { kind: 'inspect', id: 1, bytes: bytes.slice(), where: name },
      ] as DecodeJob[]) {
        const r = await job(j);
        expectCleanRejection(r.reply, name);
        expect(r.ms, `${j.kind} ${name}`).toBeLessThan(TIME_BOUND_MS);
        slowest = Math.max(slowest, r.ms);
      }
    }
    expect(slowest).toBeLessThan(TIME_BOUND_MS);
  });
});

describe('fuzzer findings (fixtures/regressions)', () => {
  const files = readdirSync(REGRESSIONS)
    .filter((f) => f.endsWith('.arrow'))
    .sort();
  it('holds the findings', () => expect(files.length).toBeGreaterThanOrEqual(6));

  for (const f of files) {
    it(`${f}: rejected cleanly and quickly`, async () => {
      const meta = JSON.parse(readFileSync(REGRESSIONS + f.replace(/\.arrow$/, '.json'), 'utf8')) as { manifest: Manifest; tokens: number };
      const bytes = new Uint8Array(readFileSync(REGRESSIONS + f));
      const t0 = performance.now();
      expect(() => decodeShard(bytes, meta.manifest, f, meta.tokens)).toThrow(TraceError);
      expect(performance.now() - t0).toBeLessThan(TIME_BOUND_MS);
      const r = await job({ kind: 'decode', id: 0, bytes, manifest: meta.manifest, where: f, tokens: meta.tokens });
      expectCleanRejection(r.reply, f);
      const lone = await job({ kind: 'inspect', id: 1, bytes: bytes.slice(), where: f });
      expectCleanRejection(lone.reply, f);
    });
  }
});
