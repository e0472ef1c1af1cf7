#!/usr/bin/env node
// Mutation fuzzer over trace shards, manifests and routing logs (see run.ts).
// Usage: npm run fuzz -- [--cases N] [--seed S] [--time-budget-ms MS] [--case I] [--out DIR] [--json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GuardedDecoder } from '../cli/guardedDecode';
import { buildCorpus } from './corpus';
import { runFuzz, type FuzzReport } from './run';

function int(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  if (!/^\d+$/.test(v)) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer (got "${v}")\n`);
    process.exit(2);
  }
  return Number(v);
}

function summary(r: FuzzReport, budgetMs: number): string {
  const s = r.slowest;
  return [
    `cases ${r.cases} (seed ${r.seed}, budget ${budgetMs} ms) in ${(r.wallMs / 1000).toFixed(1)} s: ` +
      `${r.accepted} accepted, ${r.rejected} rejected with a clear message, ${r.unclear} unclear, ${r.crashes} crashes, ${r.hangs} hangs` +
      (r.retried ? ` (${r.retried} cases overran once and were run again)` : ''),
    `by target: ${Object.entries(r.byTarget)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    s ? `slowest: case ${s.index} (${s.seed}; ${s.steps.join('+')}) ${s.ms.toFixed(1)} ms, ${s.outcome}` : '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      'time-budget-ms': { type: 'string' },
      case: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
    strict: true,
  });
  const cases = int(v.cases, 'cases', 1000);
  const seed = int(v.seed, 'seed', 1);
  const budgetMs = int(v['time-budget-ms'], 'time-budget-ms', 1000);
  const only = v.case === undefined ? undefined : int(v.case, 'case', 0);
  const seeds = await buildCorpus();
  const runner = new GuardedDecoder({ baseMs: budgetMs, msPerMB: 0, maxHeapMb: 2048 });
  let last = performance.now();
  const report = await runFuzz(runner, seeds, {
    cases,
    seed,
    only,
    onCase: (c) => {
      if (v.verbose || only !== undefined || (c.outcome !== 'accepted' && c.outcome !== 'rejected'))
        process.stderr.write(`case ${c.index} ${c.seed} [${c.steps.join('+')}] ${c.outcome} ${c.ms.toFixed(1)} ms ${c.message.slice(0, 300)}\n`);
      if (performance.now() - last > 10_000) {
        last = performance.now();
        process.stderr.write(`… ${c.index + 1} cases\n`);
      }
    },
  });
  await runner.close();
  if (report.findings.length) {
    const dir = v.out ?? join(tmpdir(), `speclab-fuzz-${seed}`);
    mkdirSync(dir, { recursive: true });
    for (const f of report.findings) {
      const base = join(dir, `case-${f.index}-${f.outcome}`);
      writeFileSync(`${base}.bin`, f.bytes);
      writeFileSync(
        `${base}.json`,
        JSON.stringify({ seed, index: f.index, input: f.seed, target: f.target, steps: f.steps, outcome: f.outcome, message: f.message }, null, 2) + '\n',
      );
    }
    process.stderr.write(`findings written to ${dir}\n`);
  }
  const { findings: _, ...plain } = report;
  process.stdout.write(
    v.json
      ? JSON.stringify({
          ...plain,
          budgetMs,
          findings: report.findings.map((f) => ({ index: f.index, input: f.seed, steps: f.steps, outcome: f.outcome, message: f.message })),
        }) + '\n'
      : summary(report, budgetMs) + '\n',
  );
  return report.crashes || report.hangs || report.unclear ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(2);
  },
);
