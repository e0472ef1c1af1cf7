// `speclab validate`: run as a user runs it (a few spawned at once), and in process through the same guarded
// decoder over every hostile file of ../shared/arrow-fuzz/ and the fuzz findings.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REAL } from '../core/trace/importers/test-helpers';
import { TraceError } from '../core/trace/types';
import { modernizeLegacyStream } from '../fuzz/legacy';
import { isClearMessage } from '../fuzz/run';
import { GuardedDecoder } from './guardedDecode';
import { VALIDATE_BUDGET, validatePath } from './validate';

const run = promisify(execFile);
const HOSTILE = fileURLToPath(new URL('../../../shared/arrow-fuzz/', import.meta.url));
const REGRESSIONS = fileURLToPath(new URL('../core/trace/fixtures/regressions/', import.meta.url));
const DEMO = fileURLToPath(new URL('../../traces/demo/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'speclab-validate-'));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function speclab(...args: string[]): Promise<Ran> {
  const t0 = performance.now();
  try {
    const r = await run('npm', ['run', '--silent', 'speclab', '--', ...args]);
    return { code: 0, ...r, ms: performance.now() - t0 };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr, ms: performance.now() - t0 };
  }
}

const oneLineFailure = (r: Ran) => {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  return r.stderr.trim();
};

const hostile = existsSync(HOSTILE)
  ? readdirSync(HOSTILE)
      .filter((f) => f.startsWith('arrow-ipc'))
      .sort()
  : [];

describe('speclab validate (spawned)', () => {
  // A lone shard: the demo's pyarrow shard, copied away from its manifest.
  const lone = join(tmp, 'lone', 'shard.arrow');
  mkdirSync(join(tmp, 'lone'));
  copyFileSync(join(DEMO, 'shard-00001.arrow'), lone);
  const cut = join(tmp, 'cut.arrow');
  writeFileSync(cut, readFileSync(join(DEMO, 'shard-00001.arrow')).subarray(0, 100_000));
  const mixtral = join(REAL, 'mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl');
  // The file apache-arrow itself spent > 40 s on before the structure check existed.
  const hung = join(REGRESSIONS, 'fuzz-s1-c318-hang.arrow');
  const someHostile = [hostile[0], hostile[hostile.length - 1]].filter(Boolean).map((f) => join(HOSTILE, f));

  it('answers for valid and invalid inputs, one line each, exit 0 or 1', async () => {
    // A few at a time: each is a Node process with a worker thread, and the machine has two cores.
    const [set, shard, json, missing] = await Promise.all([
      speclab('validate', DEMO),
      speclab('validate', lone),
      speclab('validate', join(DEMO, 'shard-00000.arrow'), '--json'),
      speclab('validate', join(tmp, 'nope')),
    ]);
    const [log, truncated, hang, ...bad] = await Promise.all([
      existsSync(mixtral) ? speclab('validate', mixtral) : Promise.resolve(null),
      speclab('validate', cut),
      speclab('validate', hung),
      ...someHostile.map((f) => speclab('validate', f)),
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(
      /^ok: trace set .*demo: 3 shards, 2622 tokens in 11 sequences, 6 layers x 8 experts top-2 \(manifest, checksums, schema, ranges and order checked\)\n$/,
    );
    expect(shard.code, shard.stderr).toBe(0);
    expect(shard.stdout).toMatch(
      /^ok: shard .*shard\.arrow: 1024 tokens in 6 sequences, 6 layers x 8 experts top-2 \(no manifest: .*inferred .*top-k: largest top-k .*experts: logits width 48 \/ 6 layers/,
    );
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, kind: 'shard', tokens: 1024, layers: 6, experts: 8, topK: 2 });
    if (log) {
      expect(log.code, log.stderr).toBe(0);
      expect(log.stdout).toMatch(
        /^ok: JSONL routing log .*gsm8k_2_routing\.jsonl: \d+ records, 244 complete tokens \(3 dropped\) in 2 sequences, 32 layers x 8 experts top-2/,
      );
    }
    expect(oneLineFailure(truncated)).toMatch(/cut\.arrow: Arrow IPC file does not end with the ARROW1 footer magic \(truncated\?\)$/);
    expect(oneLineFailure(hang)).toMatch(/fuzz-s1-c318-hang\.arrow: file footer: /);
    expect(oneLineFailure(missing)).toMatch(/nope: no such file or folder$/);
    for (const r of bad) expect(oneLineFailure(r)).toMatch(/arrow-ipc-.*: \S/);
    // Each is a fresh `npm run` + tsx start (seconds on a loaded machine); the decode itself is bounded by the budget.
    for (const r of [set, shard, json, truncated, hang, missing, ...bad]) expect(r.ms).toBeLessThan(60_000);
  }, 180_000);
});

describe('validatePath through the guarded decoder (in process)', () => {
  const decoder = new GuardedDecoder({ ...VALIDATE_BUDGET, maxHeapMb: 2048 });
  afterAll(() => decoder.close());

  it.skipIf(hostile.length === 0)(
    `rejects every file of ../shared/arrow-fuzz/ (${hostile.length}) with a clear line, within the budget`,
    async () => {
      await validatePath(join(DEMO, 'shard-00000.arrow'), { decoder }); // starts the worker: budgets count from its start
      // Old-framing streams also rewritten to the current framing, to reach past the first four bytes.
      const paths = hostile.flatMap((f) => {
        const modern = modernizeLegacyStream(new Uint8Array(readFileSync(join(HOSTILE, f))));
        if (!modern) return [join(HOSTILE, f)];
        writeFileSync(join(tmp, `${f}.current-framing`), modern);
        return [join(HOSTILE, f), join(tmp, `${f}.current-framing`)];
      });
      let slowest = 0;
      for (const f of paths) {
        const t0 = performance.now();
        const err = await validatePath(f, { decoder }).then(
          () => null,
          (e: unknown) => e,
        );
        const ms = performance.now() - t0;
        slowest = Math.max(slowest, ms);
        expect(err, f).toBeInstanceOf(TraceError);
        expect(isClearMessage(err as TraceError), (err as Error).message).toBe(true);
        expect((err as TraceError).where).toBe(f);
        expect(ms, f).toBeLessThan(VALIDATE_BUDGET.baseMs);
      }
    },
    120_000,
  );

  it('rejects every fuzz finding kept as a regression file', async () => {
    for (const f of readdirSync(REGRESSIONS).filter((x) => x.endsWith('.arrow'))) {
      const err = await validatePath(join(REGRESSIONS, f), { decoder }).catch((e: unknown) => e);
      expect(err, f).toBeInstanceOf(TraceError);
      expect(isClearMessage(err as TraceError), (err as Error).message).toBe(true);
    }
  }, 60_000);

  it('checks a shard against the manifest beside it, checksum included', async () => {
    const r = await validatePath(join(DEMO, 'shard-00000.arrow'), { decoder });
    expect(r).toMatchObject({ kind: 'shard', tokens: 1024, manifest: join(DEMO, 'manifest.json') });
    const dir = join(tmp, 'swapped');
    mkdirSync(dir);
    copyFileSync(join(DEMO, 'manifest.json'), join(dir, 'manifest.json'));
    copyFileSync(join(DEMO, 'shard-00001.arrow'), join(dir, 'shard-00000.arrow'));
    await expect(validatePath(join(dir, 'shard-00000.arrow'), { decoder })).rejects.toThrow(
      /shard-00000\.arrow: SHA-256 is [0-9a-f]{64}, the manifest beside it says/,
    );
  });

  it.skipIf(!existsSync(join(REAL, 'deepseek-v2-lite-chat')))(
    'validates a folder of hook CSV logs, and names a bad row',
    async () => {
      const src = join(REAL, 'deepseek-v2-lite-chat/puffin-1-100');
      const r = await validatePath(src, { decoder });
      expect(r).toMatchObject({ kind: 'hook-csv', files: 100, layers: 26, experts: 64, topK: 6, sequences: 100 });
      const dir = join(tmp, 'csv');
      mkdirSync(dir);
      writeFileSync(join(dir, 'prompt_1_data.csv'), 'Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,a,"[1, 2]"\n1,0,b,"[3, x]"\n');
      await expect(validatePath(dir, { decoder })).rejects.toThrow(/prompt_1_data\.csv:3: "Activated Expert IDs": expected a list of integer expert ids/);
    },
    60_000,
  );

  it('says what an unknown or UTF-16 file is', async () => {
    const f = join(tmp, 'log16.jsonl');
    writeFileSync(f, Buffer.from('\ufeff{"layer": 0}\n', 'utf16le'));
    await expect(validatePath(f, { decoder })).rejects.toThrow(/log16\.jsonl: UTF-16 text/);
    await expect(validatePath(join(DEMO, '..', '..', 'package.json'), { decoder })).rejects.toThrow(
      /package\.json: not a trace set, Arrow shard or routing log/,
    );
  });
});
