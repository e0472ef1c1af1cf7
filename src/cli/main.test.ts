// The CLI's contract on every input (issue 17), mostly in process through runCli (the same code path as the
// program, without a tsx start per case); one test runs the program with each --json output piped into a slow reader.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { naturalCompare } from '../core/trace/importers';
import { REAL } from '../core/trace/importers/test-helpers';
import { afterAll } from 'vitest';
import { GuardedDecoder } from './guardedDecode';
import { runCli } from './main';

// One decode worker for the in-process commands (a worker per command costs seconds on a busy machine).
const decoder = new GuardedDecoder();
afterAll(() => decoder.close());

const sh = promisify(execFile);

export interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs one command in process, collecting what it writes. */
export async function cli(...argv: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: async (t) => void (out += t), err: async (t) => void (err += t), decoder });
  return { code, out, err };
}

/** A failure as the README promises: nothing on stdout, one line on stderr, no stack, the given exit status. */
export function oneLine(r: Ran, code: 1 | 2): string {
  expect(r.code, r.err).toBe(code);
  expect(r.out).toBe('');
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  return r.err.trim();
}

const tmp = mkdtempSync(join(tmpdir(), 'speclab-main-'));
const MIXTRAL = join(REAL, 'mixtral-8x7b-instruct-fp8');
const JSONL = join(MIXTRAL, 'gsm8k_2_routing.jsonl');
const DS = join(REAL, 'deepseek-v2-lite-chat/puffin-1-100');
const csvs = readdirSync(DS)
  .sort(naturalCompare)
  .map((f) => join(DS, f));
const mx = join(tmp, 'mx');
const ds = join(tmp, 'ds');
const one = join(tmp, 'one');

beforeAll(async () => {
  for (const r of [await cli('import', MIXTRAL, '-o', mx), await cli('import', DS, '-o', ds), await cli('import', csvs[0], '-o', one)])
    expect(r.err + r.code).toMatch(/0$/);
}, 120_000);

describe('--json output survives a slow reader (spawned)', () => {
  it('every --json command, piped into a reader that sleeps 3 s before reading, gives whole, valid JSON', async () => {
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    const cmds = [
      ['import', csvs[1], csvs[2], '-o', join(tmp, 'piped'), '--json'],
      ['validate', ds, '--json'],
      ['stats', ds, '--json'],
      ['eval', ds, '--test-fraction', '0.2', '--json'],
      ['cache', ds, '--json'],
    ];
    const outs = await Promise.all(
      cmds.map((c) => sh('bash', ['-c', `"$0" src/cli/main.ts "$@" 2>/dev/null | (sleep 3; cat)`, tsx, ...c], { maxBuffer: 1 << 26 }).then((r) => r.stdout)),
    );
    outs.forEach((o, i) => expect(() => JSON.parse(o), `${cmds[i][0]}: ${o.length} bytes`).not.toThrow());
    // cache on 64 experts prints more than a pipe holds (64 KiB): the part an early exit used to cut.
    expect(outs[4].length).toBeGreaterThan(100_000);
    expect(JSON.parse(outs[4])).toHaveLength(3 * 59);
  }, 120_000);
});

describe('bad values: one line, exit 2, checked before any trace is read', () => {
  it('--test-fraction 0, 1, abc, 1.5 (eval and cache), before the (missing) trace is looked at', async () => {
    for (const cmd of ['eval', 'cache'])
      for (const f of ['0', '1', 'abc', '1.5', '-0.2', ''])
        expect(oneLine(await cli(cmd, join(tmp, 'no-such-set'), `--test-fraction=${f}`), 2)).toMatch(/--test-fraction must be a number between 0 and 1/);
  });

  it('cache --capacity 65 on a 64-expert trace, from its manifest before any shard is read', async () => {
    const broken = join(tmp, 'ds-broken');
    await sh('cp', ['-r', ds, broken]);
    writeFileSync(join(broken, 'shard-00000.arrow'), 'not a shard');
    expect(oneLine(await cli('cache', broken, '--capacity', '8,65'), 2)).toMatch(/--capacity 65 is more than the trace's 64 experts per layer/);
    // The same command with a capacity that fits reads the shards and finds the damage (bad input).
    expect(oneLine(await cli('cache', broken, '--capacity', '8'), 1)).toMatch(/shard-00000\.arrow: SHA-256/);
  });

  it('other values: seeds, capacities, predictors, policies, hardware numbers, context', async () => {
    const cases: [string[], RegExp][] = [
      [['cache', mx, '--capacity', '0'], /--capacity must be an integer ≥ 1/],
      [['cache', mx, '--capacity', '2,x'], /--capacity must be an integer/],
      [['cache', mx, '--predictor', 'nope'], /unknown predictor "nope"/],
      [['cache', mx, '--policy', 'fifo'], /unknown cache policy "fifo"/],
      [['cache', mx, '--bits', 'abc'], /--bits must be a positive number/],
      [['eval', mx, '--test-fraction', '0.5', '--seed=-1'], /--seed must be an integer ≥ 0/],
      [['eval', mx, '--test-fraction', '0.5', '--seed', '-1'], /Option '--seed' argument is ambiguous/],
      [['eval', mx, '--test-fraction', '0.5', '--context', '30', '--horizon', '5'], /need more than the trace's 32 MoE layers/],
      [['eval', mx, '--test-fraction', '0.5', '--predictor', 'oracle'], /unknown predictor "oracle"/],
      [['eval', mx], /exactly one of --test <dir> or --test-fraction/],
      [['stats', mx, '--dataset', ''], /--dataset needs dataset names/],
      [['stats', mx, '--dataset', 'gsm8k,,x'], /--dataset needs dataset names/],
      [['stats', mx, '--dataset', 'nope'], /--dataset "nope" is not in this trace set \(it has: gsm8k\)/],
      [['eval', mx, '--test-fraction', '0.5', '--dataset', 'nope'], /--dataset "nope" is not in this trace set/],
      [['import', JSONL, '-o', join(tmp, 'x1'), '--shard-tokens', '0'], /--shard-tokens must be an integer ≥ 1/],
      [['import', JSONL, '-o', join(tmp, 'x1'), '--experts', '8', '--num-experts', '9'], /disagree/],
      [['import', JSONL, '-o', join(tmp, 'x1'), '--dataset', ''], /--dataset must be one non-empty name/],
      [['import', JSONL, '-o', join(tmp, 'x1'), '--format', 'parquet'], /--format must be/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['stats', mx, '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, msg] of cases) expect(oneLine(await cli(...argv), 2), argv.join(' ')).toMatch(msg);
  });
});

describe('bad input: one line, exit 1', () => {
  it('eval and cache on a one-sequence trace cannot split it', async () => {
    for (const cmd of ['eval', 'cache']) expect(oneLine(await cli(cmd, one, '--test-fraction', '0.5'), 1)).toMatch(/one: cannot split a trace of 1 sequence/);
    // With a test set of its own it evaluates.
    const r = await cli('eval', one, '--test', ds, '--json', '--predictor', 'frequency');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).frequency.samples).toBeGreaterThan(1000);
  });

  it('the README cache example on the shared Mixtral trace (2 sequences, seed 0) runs and says how it split', async () => {
    const r = await cli('cache', mx, '--capacity', '2,4,6', '--policy', 'lru,lfu,prefetch', '--predictor', 'markov', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toHaveLength(9);
    expect(r.err).toMatch(
      /^split by sequence \(test fraction 0\.2, seed 0\): training 1 sequence \(78 tokens\), test 1 sequence \(166 tokens\); the draw left the test part empty, so sequence 0 was moved there\n$/,
    );
  });
});

describe('import -o: where a trace set may be written', () => {
  it('onto an existing file: exit 2, the file untouched', async () => {
    const f = join(tmp, 'a-file');
    writeFileSync(f, 'keep me');
    expect(oneLine(await cli('import', JSONL, '-o', f), 2)).toMatch(/a-file: is a file, not a folder/);
    expect(oneLine(await cli('import', JSONL, '-o', join(f, 'sub')), 2)).toMatch(/a part of the path is a file/);
    expect(readFileSync(f, 'utf8')).toBe('keep me');
  });

  it('inside the shared traces folder: refused before the inputs are read (so a missing input is not even noticed)', async () => {
    for (const out of [join(REAL, 'new-set'), join(REAL, '..'), join(REAL, 'mixtral-8x7b-instruct-fp8')])
      expect(oneLine(await cli('import', join(tmp, 'missing.jsonl'), '-o', out, '--force'), 2)).toMatch(/is inside the shared traces folder/);
    expect(existsSync(join(REAL, 'new-set'))).toBe(false);
  });

  it('into a folder with other files only with --force; into a trace set folder again, replacing its shards', async () => {
    const dir = join(tmp, 'notes');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(oneLine(await cli('import', JSONL, '-o', dir), 2)).toMatch(/holds files that are not a trace set's \(notes\.txt\).*--force/);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    expect((await cli('import', JSONL, '-o', dir, '--force')).code).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    // Re-import into a trace set's folder: allowed, and no shard of the first import is left behind.
    const again = join(tmp, 'again');
    expect((await cli('import', JSONL, '-o', again, '--shard-tokens', '50')).code).toBe(0);
    expect(readdirSync(again).filter((f) => f.endsWith('.arrow'))).toHaveLength(5);
    expect((await cli('import', JSONL, '-o', again)).code).toBe(0);
    expect(readdirSync(again).sort()).toEqual(['manifest.json', 'shard-00000.arrow']);
    expect(JSON.parse((await cli('validate', again, '--json')).out)).toMatchObject({ tokens: 244, shards: 1 });
  });
});

describe('import reads each file once and names datasets as asked', () => {
  it('the same hook CSV (or JSONL) named twice, or named and inside a named folder, is imported once', async () => {
    const once = JSON.parse((await cli('import', csvs[0], '-o', join(tmp, 'c1'), '--json')).out);
    const r = await cli('import', csvs[0], csvs[0], '-o', join(tmp, 'c2'), '--json');
    expect(JSON.parse(r.out)).toEqual({ ...once, out: join(tmp, 'c2') });
    expect(r.err).toMatch(/reading .*prompt_1_data\.csv once: it was named already/);
    const all = JSON.parse((await cli('import', DS, csvs[3], '-o', join(tmp, 'c3'), '--json')).out);
    expect(all).toMatchObject({ files: 100, sequences: 100 });
    const j = await cli('import', JSONL, JSONL, '-o', join(tmp, 'j2'), '--json');
    expect(JSON.parse(j.out)).toMatchObject({ files: 1, tokens: 244, sequences: 2 });
  });

  it('--dataset NAME names every sequence of a JSONL log (and of hook CSVs); stats sees it', async () => {
    for (const [input, name] of [
      [JSONL, 'chat'],
      [csvs[0], 'puffin'],
    ]) {
      const out = join(tmp, `named-${name}`);
      expect((await cli('import', input, '-o', out, '--dataset', name)).code).toBe(0);
      const s = JSON.parse((await cli('stats', out, '--json', '--dataset', name)).out);
      expect(s.datasets).toEqual([name]);
    }
    const plain = JSON.parse((await cli('stats', mx, '--json')).out);
    expect(plain.datasets).toEqual(['gsm8k']);
  });
});

describe('validate honours --experts, --top-k and --layers', () => {
  it('on routing logs, as import does', async () => {
    expect(oneLine(await cli('validate', JSONL, '--experts', '4'), 1)).toMatch(/gsm8k_2_routing\.jsonl:\d+: .*expert/);
    expect(oneLine(await cli('import', JSONL, '-o', join(tmp, 'e4'), '--experts', '4'), 1)).toMatch(/gsm8k_2_routing\.jsonl:\d+: .*expert/);
    expect(oneLine(await cli('validate', JSONL, '--top-k', '3'), 1)).toMatch(/has 2 experts per token \(top-k\), but --top-k says 3/);
    expect(oneLine(await cli('validate', DS, '--layers', '27'), 1)).toMatch(/has 26 MoE layers, but --layers says 27/);
    const ok = JSON.parse((await cli('validate', JSONL, '--experts', '50', '--top-k', '2', '--layers', '32', '--json')).out);
    expect([ok.experts, ok.topK, ok.layers]).toEqual([50, 2, 32]);
    // The older name of --experts still works.
    expect(JSON.parse((await cli('validate', JSONL, '--num-experts', '16', '--json')).out).experts).toBe(16);
  });

  it('on a trace set, against its manifest', async () => {
    expect(oneLine(await cli('validate', ds, '--experts', '63'), 1)).toMatch(/ds\/manifest\.json: has 64 experts per layer, but --experts says 63/);
    expect((await cli('validate', ds, '--experts', '64', '--top-k', '6', '--layers', '26')).code).toBe(0);
  });
});

describe('--help', () => {
  it('every command answers --help with the options by input kind', async () => {
    for (const cmd of ['import', 'validate', 'stats', 'eval', 'cache']) {
      const r = await cli(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Options with one meaning in every command that takes them, by input/);
      expect(r.out).toMatch(/--dataset {3}import \(JSONL and hook CSV\)/);
    }
  });
});
