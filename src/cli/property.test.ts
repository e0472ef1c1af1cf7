// Property test over random small routing logs (issue 17): random shapes, gaps in positions, dropped tokens, one or
// many sequences, shards of random size. import -> validate -> stats / eval / cache either succeed with the numbers
// of the straightforward references below, or fail with one line and exit 1 or 2, never a stack trace.
// In process through runCli (the program's code path) to stay fast.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/experiment/rng';
import { afterAll } from 'vitest';
import { GuardedDecoder } from './guardedDecode';
import { runCli } from './main';

// One decode worker for every command (a worker per command costs seconds on a busy machine).
const decoder = new GuardedDecoder();
afterAll(() => decoder.close());

interface Ran {
  code: number;
  out: string;
  err: string;
}
async function cli(...argv: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: async (t) => void (out += t), err: async (t) => void (err += t), decoder });
  return { code, out, err };
}
/** Either exit 0 with JSON on stdout, or exit 1/2 with one clean line: returns the parsed JSON or null. */
const failed = { 1: 0, 2: 0 } as Record<number, number>;
function outcome(r: Ran, what: string): unknown {
  if (r.code === 0) return JSON.parse(r.out);
  failed[r.code] = (failed[r.code] ?? 0) + 1;
  expect([1, 2], `${what}: ${r.err}`).toContain(r.code);
  expect(r.out, what).toBe('');
  expect(r.err.trim().split('\n'), `${what}: ${r.err}`).toHaveLength(1);
  expect(r.err, what).not.toMatch(/internal error|\n\s+at /);
  return null;
}

interface Tok {
  pos: number;
  /** [layer][rank] expert ids. */
  ex: number[][];
}
interface Case {
  L: number;
  E: number;
  K: number;
  format: 'jsonl' | 'hook-csv';
  /** Every token written, per sequence; `lacks` is a layer whose record was lost (JSONL: the token is dropped). */
  seqs: (Tok & { lacks?: number })[][];
}

function randomCase(rnd: () => number): Case {
  const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
  const L = int(1, 5);
  const E = int(2, 8);
  const K = int(1, Math.min(3, E));
  const format = rnd() < 0.7 ? 'jsonl' : 'hook-csv';
  const seqs = Array.from({ length: int(1, 4) }, () => {
    let pos = int(0, 3);
    return Array.from({ length: int(1, 12) }, () => {
      const ex = Array.from({ length: L }, () => {
        // K distinct experts, favouring low ids so that reuse happens.
        const picked: number[] = [];
        while (picked.length < K) {
          const e = Math.min(E - 1, Math.floor(rnd() * rnd() * E * 1.5));
          if (!picked.includes(e)) picked.push(e);
          else if (rnd() < 0.3)
            picked.push(
              ...Array.from({ length: E }, (_, i) => i)
                .filter((i) => !picked.includes(i))
                .slice(0, 1),
            );
        }
        return picked;
      });
      const tok: Tok & { lacks?: number } = { pos, ex };
      if (format === 'jsonl' && rnd() < 0.15) tok.lacks = int(0, L - 1);
      pos += format === 'jsonl' && rnd() < 0.2 ? int(2, 4) : 1;
      return tok;
    });
  });
  return { L, E, K, format, seqs };
}

/** Writes the case's routing logs into a new folder; returns the paths to name on the command line. */
function writeLogs(c: Case, dir: string, which: number[]): string[] {
  mkdirSync(dir, { recursive: true });
  if (c.format === 'jsonl') {
    const lines: string[] = [];
    for (const s of which)
      for (const t of c.seqs[s])
        for (let l = 0; l < c.L; l++) {
          if (t.lacks === l) continue;
          const w = Array.from({ length: c.K }, (_, j) => 2 ** (c.K - j));
          const sum = w.reduce((a, b) => a + b, 0);
          lines.push(JSON.stringify({ dataset: 'd', problem_id: s, layer: l, token_idx: t.pos, experts: t.ex[l], gating_probs: w.map((x) => x / sum) }));
        }
    writeFileSync(join(dir, 'log.jsonl'), lines.join('\n') + '\n');
    return [join(dir, 'log.jsonl')];
  }
  const files: string[] = [];
  for (const s of which) {
    const rows = ['Layer ID,Batch Number,Token,Activated Expert IDs'];
    for (let l = 0; l < c.L; l++) for (const [i, t] of c.seqs[s].entries()) rows.push(`${l + 1},0,"t${i}, x","[${t.ex[l].join(', ')}]"`);
    const f = join(dir, `prompt_${s + 1}_data.csv`);
    writeFileSync(f, rows.join('\n') + '\n');
    files.push(f);
  }
  return files;
}

/** What the importer keeps: complete tokens, by sequence (sequences left empty go), in position order. */
function kept(c: Case, which: number[]): { seqs: Tok[][]; dropped: number; layersSeen: number } {
  const seqs = which.map((s) => c.seqs[s].filter((t) => t.lacks === undefined)).filter((s) => s.length);
  // A token with no record left (one layer, lost) is not in the log at all, so not counted as dropped.
  const dropped = c.L === 1 ? 0 : which.reduce((n, s) => n + c.seqs[s].filter((t) => t.lacks !== undefined).length, 0);
  const seen = new Set<number>();
  for (const s of which) for (const t of c.seqs[s]) for (let l = 0; l < c.L; l++) if (t.lacks !== l) seen.add(l);
  return { seqs, dropped, layersSeen: seen.size };
}

function refStats(seqs: Tok[][], L: number, E: number) {
  const entropyBits: number[] = [];
  const reuseFirst: number[] = [];
  const reuseAny: number[] = [];
  let pairs = 0;
  for (const s of seqs) for (let i = 1; i < s.length; i++) if (s[i].pos === s[i - 1].pos + 1) pairs++;
  for (let l = 0; l < L; l++) {
    const count = new Array<number>(E).fill(0);
    for (const s of seqs) for (const t of s) for (const e of t.ex[l]) count[e]++;
    const total = count.reduce((a, b) => a + b, 0);
    entropyBits.push(-count.filter((x) => x > 0).reduce((h, x) => h + (x / total) * Math.log2(x / total), 0));
    let first = 0;
    let any = 0;
    for (const s of seqs)
      for (let i = 1; i < s.length; i++)
        if (s[i].pos === s[i - 1].pos + 1) {
          if (s[i].ex[l][0] === s[i - 1].ex[l][0]) first++;
          if (s[i].ex[l].some((e) => s[i - 1].ex[l].includes(e))) any++;
        }
    reuseFirst.push(pairs ? first / pairs : 0);
    reuseAny.push(pairs ? any / pairs : 0);
  }
  return { pairs, entropyBits, reuseFirst, reuseAny };
}

/** The split rule: one seeded draw per sequence in order; an empty part gets the sequence of one more draw. */
function refSplit(n: number, f: number, seed: number): boolean[] {
  const rnd = createRng(seed);
  const test = Array.from({ length: n }, () => rnd() < f);
  if (test.every(Boolean) || !test.some(Boolean)) {
    const i = Math.min(n - 1, Math.floor(rnd() * n));
    test[i] = !test[i];
  }
  return test;
}

/** LRU/LFU hit rate replaying tokens in order; a gap in positions empties every layer's cache. */
function refCache(seqs: Tok[][], L: number, E: number, K: number, capacity: number, lfu: boolean): number {
  let resident: number[][] = Array.from({ length: L }, () => []);
  const lastUse = Array.from({ length: L }, () => new Map<number, number>());
  const uses = Array.from({ length: L }, () => new Array<number>(E).fill(0));
  let hits = 0;
  let accesses = 0;
  let clock = 0;
  for (const s of seqs)
    s.forEach((t, i) => {
      if (i > 0 && t.pos !== s[i - 1].pos + 1) resident = Array.from({ length: L }, () => []);
      for (let l = 0; l < L; l++) {
        const need = t.ex[l];
        for (const e of need) {
          uses[l][e]++;
          accesses++;
          if (resident[l].includes(e)) hits++;
          else {
            if (resident[l].length >= capacity) {
              const cands = resident[l].filter((x) => !need.includes(x));
              if (!cands.length) continue;
              const key = (x: number) => [lfu ? uses[l][x] : 0, lastUse[l].get(x)!, x];
              cands.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1] || key(a)[2] - key(b)[2]);
              resident[l].splice(resident[l].indexOf(cands[0]), 1);
            }
            resident[l].push(e);
          }
          lastUse[l].set(e, clock);
        }
        clock++;
      }
    });
  return accesses ? hits / accesses : 0;
}

/** Frequency and temporal (previous position's experts, by rank) recall@k per horizon step, and the windows. */
function refRecall(train: Tok[][], test: Tok[][], L: number, E: number, K: number, C: number, H: number, temporal: boolean) {
  const count = Array.from({ length: L }, () => new Array<number>(E).fill(0));
  for (const s of train) for (const t of s) for (let l = 0; l < L; l++) for (const e of t.ex[l]) count[l][e]++;
  const sum = new Array<number>(H).fill(0);
  let n = 0;
  for (const s of test)
    s.forEach((t, i) => {
      const prev = temporal && i > 0 && s[i - 1].pos === t.pos - 1 ? s[i - 1] : undefined;
      for (let l = C - 1; l + H <= L - 1; l++) {
        for (let h = 1; h <= H; h++) {
          const max = Math.max(...count[l + h]);
          const score = count[l + h].map((x) => x / (max + 1));
          if (prev) prev.ex[l + h].forEach((e, j) => (score[e] += K - j));
          const ranked = score
            .map((v, e) => [v, e])
            .sort((a, b) => b[0] - a[0] || a[1] - b[1])
            .slice(0, K)
            .map((x) => x[1]);
          sum[h - 1] += ranked.filter((e) => t.ex[l + h].includes(e)).length / K;
        }
        n++;
      }
    });
  return { recall: sum.map((x) => (n ? x / n : 0)), windows: n };
}

const CASES = 24;

describe('random small traces through import, validate, stats, eval and cache', () => {
  it(`${CASES} cases: numbers equal the references, or one line with exit 1 or 2`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'speclab-prop-'));
    const tally = { imported: 0, statsChecked: 0, cacheChecked: 0, evalChecked: 0, failures: 0 };
    for (let i = 0; i < CASES; i++) {
      const rnd = createRng(1000 + i);
      const c = randomCase(rnd);
      const dir = join(root, `case${i}`);
      const all = c.seqs.map((_, s) => s);
      const logs = writeLogs(c, join(dir, 'logs'), all);
      const k = kept(c, all);
      const giveE = rnd() < 0.5;
      const maxId = Math.max(-1, ...k.seqs.flat().flatMap((t) => t.ex.flat()));
      const E = giveE ? c.E : maxId + 1;
      const what = `case ${i} ${JSON.stringify({ L: c.L, E: c.E, K: c.K, format: c.format, seqs: c.seqs.map((s) => s.length) })}`;
      const shardTokens = 1 + Math.floor(rnd() * 10);
      const impRan = await cli(
        'import',
        ...logs,
        '-o',
        join(dir, 'set'),
        '--json',
        '--shard-tokens',
        String(shardTokens),
        ...(giveE ? ['--experts', String(c.E)] : []),
      );
      const lastErr = impRan.err;
      const imp = outcome(impRan, `${what} import`) as Record<string, number> | null;
      const tokens = k.seqs.reduce((n, s) => n + s.length, 0);
      const importable = tokens > 0 && k.layersSeen === c.L && (giveE || E >= 2);
      expect(imp !== null, `${what} import: ${lastErr}`).toBe(importable);
      if (!imp) {
        tally.failures++;
        continue;
      }
      tally.imported++;
      expect(imp, what).toMatchObject({
        tokens,
        droppedTokens: k.dropped,
        sequences: k.seqs.length,
        layers: c.L,
        experts: E,
        topK: c.K,
        shards: Math.ceil(tokens / shardTokens),
      });
      const set = join(dir, 'set');

      // validate: the raw logs (with the shape given or not) and the trace set report the same.
      const vLogs = outcome(
        await cli(
          'validate',
          logs.length === 1 ? logs[0] : join(dir, 'logs'),
          '--json',
          '--experts',
          String(E),
          '--top-k',
          String(c.K),
          '--layers',
          String(c.L),
        ),
        `${what} validate logs`,
      ) as Record<string, number>;
      expect(vLogs, what).toMatchObject({ tokens, sequences: k.seqs.length, droppedTokens: k.dropped, experts: E, topK: c.K, layers: c.L });
      const vSet = outcome(await cli('validate', set, '--json'), `${what} validate set`) as Record<string, number>;
      expect(vSet, what).toMatchObject({ tokens, sequences: k.seqs.length, shards: imp.shards });
      expect(outcome(await cli('validate', set, '--top-k', String(c.K + 1)), `${what} validate wrong k`)).toBeNull();

      // stats
      const st = outcome(await cli('stats', set, '--json'), `${what} stats`) as {
        consecutivePairs: number;
        entropyBits: number[];
        reuseFirst: number[];
        reuseAny: number[];
      };
      const ref = refStats(k.seqs, c.L, E);
      expect(st.consecutivePairs, what).toBe(ref.pairs);
      for (const key of ['entropyBits', 'reuseFirst', 'reuseAny'] as const)
        st[key].forEach((v, l) => expect(v, `${what} ${key}[${l}]`).toBeCloseTo(ref[key][l], 10));
      tally.statsChecked++;

      // cache: random capacities (one past E is a usage error), fraction and seed.
      const caps = [1 + Math.floor(rnd() * (E + 1)), 1 + Math.floor(rnd() * E)];
      const f = [0.2, 0.5, 0.8, 0, 1.2][Math.floor(rnd() * 5)];
      const seed = Math.floor(rnd() * 100);
      const ca = outcome(
        await cli('cache', set, '--json', '--capacity', caps.join(','), '--test-fraction', String(f), '--seed', String(seed)),
        `${what} cache`,
      ) as { capacity: number; policy: string; hitRate: number }[] | null;
      const cacheOk = caps.every((x) => x <= E) && f > 0 && f < 1 && k.seqs.length >= 2;
      expect(ca !== null, `${what} cache ${caps} f=${f}`).toBe(cacheOk);
      if (ca) {
        const side = refSplit(k.seqs.length, f, seed);
        const testSeqs = k.seqs.filter((_, s) => side[s]);
        expect(ca.map((r) => `${r.capacity}/${r.policy}`)).toEqual(caps.flatMap((x) => ['lru', 'lfu', 'prefetch'].map((p) => `${x}/${p}`)));
        for (const r of ca) {
          if (r.policy === 'prefetch') expect(r.hitRate).toBeGreaterThanOrEqual(0);
          else expect(r.hitRate, `${what} ${r.capacity}/${r.policy}`).toBeCloseTo(refCache(testSeqs, c.L, E, c.K, r.capacity, r.policy === 'lfu'), 12);
        }
        tally.cacheChecked++;
      }

      // eval: the first half of the sequences for training, the rest for testing (imported apart, same shape).
      if (c.seqs.length >= 2) {
        const half = Math.ceil(c.seqs.length / 2);
        const trainIdx = all.slice(0, half);
        const testIdx = all.slice(half);
        const kt = kept(c, trainIdx);
        const ks = kept(c, testIdx);
        const tr = await cli('import', ...writeLogs(c, join(dir, 'train-logs'), trainIdx), '-o', join(dir, 'train'), '--experts', String(c.E), '--json');
        const te = await cli('import', ...writeLogs(c, join(dir, 'test-logs'), testIdx), '-o', join(dir, 'test'), '--experts', String(c.E), '--json');
        outcome(tr, `${what} import train`);
        outcome(te, `${what} import test`);
        if (tr.code === 0 && te.code === 0) {
          const C = 1 + Math.floor(rnd() * 3);
          const H = 1 + Math.floor(rnd() * 2);
          const ev = outcome(
            await cli(
              'eval',
              join(dir, 'train'),
              '--test',
              join(dir, 'test'),
              '--json',
              '--predictor',
              'frequency,temporal',
              '--context',
              String(C),
              '--horizon',
              String(H),
            ),
            `${what} eval C${C} H${H}`,
          ) as Record<string, { recallAtK: number[]; samples: number }> | null;
          expect(ev !== null, `${what} eval C${C} H${H}`).toBe(C + H <= c.L);
          if (ev) {
            for (const p of ['frequency', 'temporal'] as const) {
              const r = refRecall(kt.seqs, ks.seqs, c.L, c.E, c.K, C, H, p === 'temporal');
              expect(ev[p].samples, `${what} ${p}`).toBe(r.windows);
              ev[p].recallAtK.forEach((v, h) => expect(v, `${what} ${p} h${h + 1}`).toBeCloseTo(r.recall[h], 12));
            }
            tally.evalChecked++;
          }
        }
      }
      // eval by fraction on the whole set: a trace of one sequence is bad input, anything else runs.
      const byFraction = await cli('eval', set, '--test-fraction', '0.5', '--context', '1', '--horizon', '1', '--predictor', 'markov', '--json');
      expect(outcome(byFraction, `${what} eval by fraction`) !== null, `${what} eval by fraction: ${byFraction.err}`).toBe(k.seqs.length >= 2 && c.L >= 2);
    }
    // The cases reach every branch: successes and failures of each kind.
    expect(tally.imported).toBeGreaterThan(CASES / 2);
    // Failures of both kinds: bad input (1: one sequence, no complete token) and bad usage (2: capacity, fraction, task).
    expect(failed[1]).toBeGreaterThan(0);
    expect(failed[2]).toBeGreaterThan(0);
    expect(tally.cacheChecked).toBeGreaterThan(3);
    expect(tally.evalChecked).toBeGreaterThan(3);
  }, 300_000);
});
