// The CLI contract of README.md, run as a user runs it, on the real traces in ../shared/traces-real/.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REAL } from '../core/trace/importers/test-helpers';
import { naturalCompare } from '../core/trace/importers';

const run = promisify(execFile);
const PYTHON = '.venv/bin/python';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run --silent speclab -- args` (the documented form) and never throws on a failing exit. */
async function speclab(...args: string[]): Promise<Ran> {
  try {
    const r = await run('npm', ['run', '--silent', 'speclab', '--', ...args], { maxBuffer: 1 << 26 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'speclab-cli-'));
const deepseek = join(REAL, 'deepseek-v2-lite-chat/puffin-1-100');
const csvs = readdirSync(deepseek).sort(naturalCompare);

describe('speclab CLI on real traces', () => {
  beforeAll(async () => {
    const [a, b, c] = await Promise.all([
      speclab('import', join(REAL, 'mixtral-8x7b-instruct-fp8'), '-o', join(tmp, 'mixtral'), '--model', 'Mixtral-8x7B-Instruct-FP8', '--json'),
      speclab('import', ...csvs.slice(0, 60).map((f) => join(deepseek, f)), '-o', join(tmp, 'ds-train'), '--json'),
      speclab('import', ...csvs.slice(60).map((f) => join(deepseek, f)), '-o', join(tmp, 'ds-test'), '--json'),
    ]);
    for (const r of [a, b, c]) expect(r.stderr + `exit ${r.code}`).toMatch(/exit 0$/);
    expect(JSON.parse(a.stdout)).toMatchObject({ tokens: 244, droppedTokens: 3, sequences: 2, layers: 32, experts: 8, topK: 2 });
  }, 180_000);

  it('stats --json prints one clean JSON object with the documented fields', async () => {
    const r = await speclab('stats', join(tmp, 'mixtral'), '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ tokens: 244, droppedTokens: 3, sequences: 2, layers: 32, experts: 8, topK: 2 });
    for (const k of ['entropyBits', 'reuseFirst', 'reuseAny']) expect(s[k]).toHaveLength(32);
  }, 60_000);

  it('stats of DeepSeek-V2-Lite agree with numpy reading the same shards', async () => {
    const r = await speclab('stats', join(tmp, 'ds-test'), '--json');
    const s = JSON.parse(r.stdout);
    expect([s.layers, s.experts, s.topK]).toEqual([26, 64, 6]);
    expect(s.moeLayerIds[0]).toBe(1);
    const np = JSON.parse((await run(PYTHON, ['bench/numpy_analyses.py', join(tmp, 'ds-test')])).stdout);
    expect(np.tokens).toBe(s.tokens);
    expect(np.consecutivePairs).toBe(s.consecutivePairs);
    s.entropyBits.forEach((h: number, l: number) => expect(h).toBeCloseTo(np.entropyBits[l], 10));
    s.reuseAny.forEach((v: number, l: number) => expect(v).toBeCloseTo(np.reuseAny[l], 12));
    s.reuseFirst.forEach((v: number, l: number) => expect(v).toBeCloseTo(np.reuseFirst[l], 12));
  }, 60_000);

  it('eval --json reports every predictor per horizon step, train and test split by file', async () => {
    const r = await speclab(
      'eval',
      join(tmp, 'ds-train'),
      '--test',
      join(tmp, 'ds-test'),
      '--predictor',
      'frequency,markov,temporal',
      '--context',
      '3',
      '--horizon',
      '2',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['frequency', 'markov', 'temporal']);
    for (const v of Object.values(out) as { recallAtK: number[]; exact: number[]; samples: number }[]) {
      expect(v.recallAtK).toHaveLength(2);
      expect(v.exact).toHaveLength(2);
      expect(v.samples).toBeGreaterThan(1000);
    }
    // On DeepSeek-V2-Lite the inter-layer counts are far ahead of temporal reuse.
    expect(out.markov.recallAtK[0]).toBeGreaterThan(out.temporal.recallAtK[0] + 0.05);
  }, 60_000);

  it('reports hit rates per policy and capacity and the implied decode speed', async () => {
    const r = await speclab('cache', join(tmp, 'mixtral'), '--capacity', '2,8', '--policy', 'lru,prefetch', '--test-fraction', '0.5', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { capacity: number; policy: string; hitRate: number; estTokensPerSecond: number }[];
    expect(rows.map((x) => `${x.capacity}/${x.policy}`)).toEqual(['2/lru', '2/prefetch', '8/lru', '8/prefetch']);
    expect(rows[2].hitRate).toBeGreaterThan(rows[0].hitRate);
    expect(rows[2].estTokensPerSecond).toBeGreaterThan(rows[0].estTokensPerSecond);
    expect(rows[1].hitRate).toBeGreaterThan(rows[0].hitRate);
  }, 60_000);
});

describe('speclab CLI on bad input', () => {
  const mixtral = () => join(tmp, 'mixtral');
  const copySet = (name: string, edit: (dir: string, manifest: Record<string, unknown>) => void) => {
    const dir = join(tmp, name);
    return (async () => {
      await run('cp', ['-r', mixtral(), dir]);
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      edit(dir, m);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
      return dir;
    })();
  };
  const oneLine = (r: Ran) => {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    return r.stderr;
  };

  it('a manifest of another version', async () => {
    const dir = await copySet('v2', (_, m) => (m.version = 2));
    expect(oneLine(await speclab('stats', dir, '--json'))).toMatch(/v2\/manifest\.json: format version 2 is not supported/);
  }, 60_000);

  it('a checksum mismatch', async () => {
    const dir = await copySet('sum', (d) => {
      const f = join(d, 'shard-00000.arrow');
      const b = readFileSync(f);
      b[b.length >> 1] ^= 1;
      writeFileSync(f, b);
    });
    expect(oneLine(await speclab('stats', dir))).toMatch(/sum\/shard-00000\.arrow: SHA-256 is .* the manifest says/);
  }, 60_000);

  it('a truncated shard whose manifest was rewritten to match', async () => {
    const dir = await copySet('cut', (d, m) => {
      const f = join(d, 'shard-00000.arrow');
      const b = readFileSync(f).subarray(0, 5000);
      writeFileSync(f, b);
      const shards = m.shards as { sha256: string }[];
      shards[0].sha256 = createHash('sha256').update(b).digest('hex');
    });
    expect(oneLine(await speclab('stats', dir))).toMatch(/cut\/shard-00000\.arrow: .*truncated/);
  }, 60_000);

  it('a CSV row with a malformed expert list writes nothing', async () => {
    const src = join(tmp, 'bad-csv');
    await run('mkdir', ['-p', src]);
    writeFileSync(join(src, 'prompt_1_data.csv'), 'Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,a,"[1, 2]"\n1,0,"b, c","[3, x]"\n');
    const out = join(tmp, 'bad-csv-out');
    const msg = oneLine(await speclab('import', src, '-o', out));
    expect(msg).toMatch(/prompt_1_data\.csv:3: .*Activated Expert IDs/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  }, 60_000);

  it('expert ids out of range for the stated expert count', async () => {
    const msg = oneLine(await speclab('import', join(REAL, 'mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl'), '-o', join(tmp, 'oor'), '--num-experts', '4'));
    expect(msg).toMatch(/gsm8k_2_routing\.jsonl:\d+: .*expert/);
    expect(existsSync(join(tmp, 'oor', 'manifest.json'))).toBe(false);
  }, 60_000);

  it('a layer missing everywhere', async () => {
    const src = join(tmp, 'gap');
    await run('mkdir', ['-p', src]);
    const rows = ['Layer ID,Batch Number,Token,Activated Expert IDs'];
    for (const layer of [1, 2, 4]) for (const tok of ['a', 'b']) rows.push(`${layer},0,${tok},"[0, 1]"`);
    writeFileSync(join(src, 'prompt_1_data.csv'), rows.join('\n') + '\n');
    const msg = oneLine(await speclab('import', src, '-o', join(tmp, 'gap-out')));
    expect(msg).toMatch(/prompt_1_data\.csv.*layer 3 is missing in every record/);
    expect(existsSync(join(tmp, 'gap-out', 'manifest.json'))).toBe(false);
    // Interleaved MoE models are imported when the user says so.
    const ok = await speclab('import', src, '-o', join(tmp, 'gap-ok'), '--allow-layer-gaps', '--json');
    expect(JSON.parse(ok.stdout)).toMatchObject({ layers: 3, tokens: 2 });
  }, 60_000);

  it('usage errors exit 2 with a message', async () => {
    const r = await speclab('eval', mixtral());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exactly one of --test <dir> or --test-fraction/);
  }, 60_000);
});
