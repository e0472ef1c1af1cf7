// Multi-shard writes of real traces: every shard lands in its own file, the set reads back equal, and a
// writer that leaves a set which does not read back (checksum, decode) fails instead of reporting success.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { computeStats } from '../core/analysis/stats';
import { importFiles } from '../core/trace/importers';
import { REAL, readReal } from '../core/trace/importers/test-helpers';
import { readTraceSet } from '../core/trace/read';
import { TraceError } from '../core/trace/types';
import { dirSource, verifyWrittenSet, writeTraceSet } from './fsTrace';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'speclab-write-'));
const MIXTRAL = 'mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl';

describe('writeTraceSet over several shards', () => {
  const imported = importFiles([{ name: 'g.jsonl', data: readReal(MIXTRAL) }]);

  it('writes one file per shard and reads back equal to what was imported', async () => {
    const dir = join(tmp, 'mixtral-50');
    const m = await writeTraceSet(dir, imported.set, { shardTokens: 50 });
    expect(m.shards.map((s) => s.file)).toEqual(['shard-00000.arrow', 'shard-00001.arrow', 'shard-00002.arrow', 'shard-00003.arrow', 'shard-00004.arrow']);
    expect(m.shards.map((s) => s.tokens)).toEqual([50, 50, 50, 50, 44]);
    expect(new Set(m.shards.map((s) => s.sha256)).size).toBe(5);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', ...m.shards.map((s) => s.file)]);
    const back = await readTraceSet(dirSource(dir));
    expect(computeStats(back)).toEqual(computeStats(imported.set));
    const joined = new Int16Array(back.chunks.reduce((n, c) => n + c.experts.length, 0));
    let at = 0;
    for (const c of back.chunks) joined.set(c.experts, (at += c.experts.length) - c.experts.length);
    expect(joined).toEqual(imported.set.chunks[0].experts);
  });

  it('the read-back check fails on a shard that was overwritten or does not decode', async () => {
    const dir = join(tmp, 'mixtral-check');
    const m = await writeTraceSet(dir, imported.set, { shardTokens: 100 });
    await expect(verifyWrittenSet(dir, m)).resolves.toBeUndefined();
    // The old bug: shard 1's bytes end up in shard 0's file.
    writeFileSync(join(dir, 'shard-00000.arrow'), readFileSync(join(dir, 'shard-00001.arrow')));
    const err = await verifyWrittenSet(dir, m).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).message).toMatch(/shard-00000\.arrow: read back after writing, SHA-256 is/);
    // Bytes that match a (forged) checksum but are not a shard still fail, by decoding.
    const junk = new TextEncoder().encode('not arrow');
    writeFileSync(join(dir, 'shard-00000.arrow'), junk);
    const { createHash } = await import('node:crypto');
    const forged = { ...m, shards: m.shards.map((s, i) => (i === 0 ? { ...s, sha256: createHash('sha256').update(junk).digest('hex') } : s)) };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(forged, null, 2) + '\n');
    await expect(verifyWrittenSet(dir, forged)).rejects.toThrow(/shard-00000\.arrow: /);
    // A manifest on disk that is not the one meant.
    await expect(verifyWrittenSet(dir, m)).rejects.toThrow(/manifest differs from the one written/);
  });

  it('speclab import --shard-tokens 50 of the real Mixtral log gives a set that validates', async () => {
    const out = join(tmp, 'cli-50');
    const r = await run('npm', ['run', '--silent', 'speclab', '--', 'import', join(REAL, MIXTRAL), '-o', out, '--shard-tokens', '50', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ tokens: 244, shards: 5 });
    const v = await run('npm', ['run', '--silent', 'speclab', '--', 'validate', out, '--json']);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true });
  }, 60_000);
});
