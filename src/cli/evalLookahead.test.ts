// `speclab eval` with the lookahead gate: on the demo set (collected with lookahead_logits) and on the same set
// written without them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TASK } from '../core/tasks/task';
import { readTraceSet } from '../core/trace/read';
import type { TraceSet } from '../core/trace/types';
import { selectLookahead } from './evalLookahead';
import { dirSource, writeTraceSet } from './fsTrace';
import { GuardedDecoder } from './guardedDecode';
import { runCli } from './main';

const DEMO = fileURLToPath(new URL('../../traces/demo/', import.meta.url));
const decoder = new GuardedDecoder();
afterAll(() => decoder.close());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: async (t) => void (out += t), err: async (t) => void (err += t), decoder });
  return { code, out, err };
}

const tmp = mkdtempSync(join(tmpdir(), 'speclab-lookahead-'));
const bare = join(tmp, 'bare');
let demo: TraceSet;
let bareSet: TraceSet;

beforeAll(async () => {
  demo = await readTraceSet(dirSource(DEMO));
  bareSet = { manifest: { ...demo.manifest, lookaheadHorizon: undefined }, chunks: demo.chunks.map((c) => ({ ...c, lookahead: undefined })) };
  await writeTraceSet(bare, bareSet);
});

describe('speclab eval --predictor lookahead', () => {
  it('scores the lookahead gate beside the baselines and gives its recall at 1..H layers ahead', async () => {
    const r = await cli('eval', DEMO, '--test-fraction', '0.3', '--predictor', 'frequency,lookahead', '--horizon', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(Object.keys(out)).toEqual(['frequency', 'lookahead']);
    expect(out.lookahead).toMatchObject({ kind: 'baseline', samples: out.frequency.samples });
    expect(out.lookahead.recallAtK[0]).toBeGreaterThan(out.frequency.recallAtK[0] + 0.1);
    // The curve goes to the trace's lookahead horizon (2), past the task's horizon (1); at distance 1 it is the
    // same predictor on more windows (l up to L-1-2 rather than L-1-1).
    expect(out.lookahead.byDistance.distance).toEqual([1, 2]);
    expect(out.lookahead.byDistance.recallAtK).toHaveLength(2);
    expect(out.lookahead.byDistance.samples).toBeLessThan(out.lookahead.samples);
    expect(out.frequency.byDistance).toBeUndefined();
  });

  it('prints the curve under the table', async () => {
    const r = await cli('eval', DEMO, '--test-fraction', '0.3', '--predictor', 'lookahead');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^lookahead\tbaseline\t0\.\d{4}\t0\.\d{4}\t/m);
    expect(r.out).toMatch(/^lookahead gate recall@k by distance \(layers ahead, \d+ windows\): l\+1 0\.\d{4}  l\+2 0\.\d{4}\n$/m);
  });

  it('is a usage error, saying why, on a trace without lookahead logits or beyond its horizon', async () => {
    const r = await cli('eval', bare, '--test-fraction', '0.3', '--predictor', 'markov,lookahead');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      /^speclab: --predictor lookahead: the trace has no lookahead gate logits \(no "lookahead_logits" column, no manifest lookaheadHorizon\); collect it with speclab-collect run --lookahead H\n$/m,
    );
    const far = await cli('eval', DEMO, '--test-fraction', '0.3', '--predictor', 'lookahead', '--context', '2', '--horizon', '3');
    expect(far.code).toBe(2);
    expect(far.err).toContain(
      'speclab: --predictor lookahead: the trace records the lookahead gate 2 layers ahead (manifest lookaheadHorizon 2); horizon 3 needs 3',
    );
    const other = await cli('eval', DEMO, '--test', bare, '--predictor', 'lookahead');
    expect(other.code).toBe(2);
    expect(other.err).toContain('--predictor lookahead: the test set has no lookahead gate logits');
  });

  it('all: left out where the trace has none, and said so; kept where it has it', () => {
    const log: string[] = [];
    const names = ['random', 'frequency', 'lookahead', 'interlayer'];
    selectLookahead(names, true, bareSet, bareSet, DEFAULT_TASK, (l) => log.push(l));
    expect(names).toEqual(['random', 'frequency', 'interlayer']);
    expect(log).toEqual([expect.stringMatching(/^lookahead: left out: the trace has no lookahead gate logits/)]);
    const kept = ['frequency', 'lookahead'];
    selectLookahead(kept, true, demo, demo, DEFAULT_TASK, (l) => log.push(l));
    expect(kept).toEqual(['frequency', 'lookahead']);
    expect(log).toHaveLength(1);
    expect(() => selectLookahead(['lookahead'], false, bareSet, bareSet, DEFAULT_TASK, () => {})).toThrow(
      /^--predictor lookahead: the trace has no lookahead gate logits/,
    );
  });
});
