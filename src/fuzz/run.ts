/**
 * The mutation fuzzer's loop: each case mutates a seed (corpus.ts, mutate.ts) and runs it through the same
 * guarded worker path the CLI and the page use (core/trace/guarded.ts), under a time budget. Outcomes:
 *  - accepted: the input decoded (a mutation can leave an input valid);
 *  - rejected: a TraceError with a clear message (names where, says what; no JavaScript engine jargon);
 *  - unclear: a TraceError whose message leaks an internal error ("Cannot read properties of …");
 *  - crash: an exception other than TraceError inside the worker, or the worker died;
 *  - hang: the case ran past the budget in the run and in every one of up to three runs again at its end
 *    (a fresh worker each time; the worker is terminated at each overrun).
 * Case i of seed S draws from its own RNG, so any case replays alone (`--case i`).
 */
import { createRng } from '../core/experiment/rng';
import { DecodeTimeout, DecoderFault, type GuardedRunner } from '../core/trace/guarded';
import type { ImportFormat } from '../core/trace/importers';
import { TraceError } from '../core/trace/types';
import { mutate } from './mutate';
import type { Seed } from './corpus';

export type Outcome = 'accepted' | 'rejected' | 'unclear' | 'crash' | 'hang';

export interface CaseResult {
  index: number;
  seed: string;
  target: Seed['target'];
  steps: string[];
  outcome: Outcome;
  message: string;
  /** Time inside the worker (ms); for hangs, the budget. */
  ms: number;
  bytes: Uint8Array;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  accepted: number;
  rejected: number;
  unclear: number;
  crashes: number;
  hangs: number;
  /** Cases that overran the budget in the run and were run again at its end (a hang counts only if they overran again). */
  retried: number;
  /** Slowest case by time inside the worker. */
  slowest: { index: number; seed: string; steps: string[]; ms: number; outcome: Outcome } | null;
  /** Cases per target. */
  byTarget: Record<string, number>;
  wallMs: number;
  /** The first few crash, hang and unclear cases (with their bytes, to save as regression files). */
  findings: CaseResult[];
}

/** Phrases of JavaScript engine errors: a message that contains one did not come from a check of ours. */
const INTERNAL =
  /Cannot read propert|Cannot destructure|is not a function|is not iterable|is not a constructor|Invalid array length|Invalid typed array length|Maximum call stack|is not safe to convert|\[object |out of bounds|Array buffer allocation failed|undefined \(reading/;

/** A rejection message is clear when it names the input and says what is wrong in words of ours. */
export function isClearMessage(e: TraceError): boolean {
  const text = e.message.slice(e.where.length + 2);
  return e.message.startsWith(`${e.where}: `) && text.length >= 8 && text.length <= 600 && !/[\r\n]/.test(text) && !INTERNAL.test(text);
}

/** Runs a case through the runner; never throws. */
export async function runCase(runner: GuardedRunner, seed: Seed, bytes: Uint8Array): Promise<{ outcome: Outcome; message: string; ms: number }> {
  const where = seed.name;
  try {
    switch (seed.target) {
      case 'decode':
        await runner.decode(bytes, seed.manifest!, where, seed.tokens);
        break;
      case 'inspect':
        await runner.inspect(bytes, where);
        break;
      case 'jsonl':
      case 'csv':
        await runner.importFiles([{ name: where, data: bytes }], (seed.target === 'csv' ? 'hook-csv' : 'jsonl') as ImportFormat);
        break;
      case 'traceset':
        await runner.readTraceSet(where, new TextDecoder().decode(bytes), seed.files!);
        break;
    }
    return { outcome: 'accepted', message: '', ms: runner.lastJobMs };
  } catch (e) {
    if (e instanceof DecodeTimeout) return { outcome: 'hang', message: e.message, ms: e.budgetMs };
    if (e instanceof DecoderFault) return { outcome: 'crash', message: e.message, ms: runner.lastJobMs };
    if (e instanceof TraceError) return { outcome: isClearMessage(e) ? 'rejected' : 'unclear', message: e.message, ms: runner.lastJobMs };
    return { outcome: 'crash', message: `not a TraceError: ${(e as Error)?.stack ?? String(e)}`, ms: runner.lastJobMs };
  }
}

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Run only this case index (replay). */
  only?: number;
  /** Called after each case (progress, logging). */
  onCase?: (r: CaseResult) => void;
  /** Keep at most this many findings (default 50). */
  maxFindings?: number;
}

/** The case's seed input and mutation, from (fuzz seed, case index) alone. */
export function makeCase(seeds: Seed[], fuzzSeed: number, index: number): { seed: Seed; bytes: Uint8Array; steps: string[] } {
  const rng = createRng((Math.imul(fuzzSeed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0);
  const seed = seeds[Math.floor(rng() * seeds.length)];
  const other = seeds[Math.floor(rng() * seeds.length)].bytes;
  const isText = seed.target === 'jsonl' || seed.target === 'csv' || seed.target === 'traceset';
  const { bytes, steps } = mutate(seed.bytes, isText, rng, other);
  return { seed, bytes, steps };
}

export async function runFuzz(runner: GuardedRunner, seeds: Seed[], o: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const report: FuzzReport = {
    seed: o.seed,
    cases: 0,
    accepted: 0,
    rejected: 0,
    unclear: 0,
    crashes: 0,
    hangs: 0,
    retried: 0,
    slowest: null,
    byTarget: {},
    wallMs: 0,
    findings: [],
  };
  const record = (result: CaseResult) => {
    const r = result;
    if (r.outcome === 'accepted') report.accepted++;
    else if (r.outcome === 'rejected') report.rejected++;
    else if (r.outcome === 'unclear') report.unclear++;
    else if (r.outcome === 'crash') report.crashes++;
    else report.hangs++;
    if (r.outcome !== 'accepted' && r.outcome !== 'rejected' && report.findings.length < (o.maxFindings ?? 50)) report.findings.push(result);
    if (!report.slowest || r.ms > report.slowest.ms) report.slowest = { index: r.index, seed: r.seed, steps: r.steps, ms: r.ms, outcome: r.outcome };
    o.onCase?.(result);
  };
  const overran: number[] = [];
  const first = o.only ?? 0;
  const end = o.only !== undefined ? o.only + 1 : o.cases;
  for (let index = first; index < end; index++) {
    const { seed, bytes, steps } = makeCase(seeds, o.seed, index);
    const r = await runCase(runner, seed, bytes);
    report.cases++;
    report.byTarget[seed.target] = (report.byTarget[seed.target] ?? 0) + 1;
    // An overrun is run again at the end (fresh worker, later moment): on a shared machine a slow case can
    // overrun once under someone else's load; a real hang overruns every time.
    if (r.outcome === 'hang') overran.push(index);
    else record({ index, seed: seed.name, target: seed.target, steps, bytes, ...r });
  }
  for (const index of overran) {
    report.retried++;
    const { seed, bytes, steps } = makeCase(seeds, o.seed, index);
    let r = await runCase(runner, seed, bytes);
    for (let attempt = 2; attempt <= 3 && r.outcome === 'hang'; attempt++) r = await runCase(runner, seed, bytes);
    if (r.outcome !== 'hang') r = { ...r, message: `${r.message} (overran the budget once in the run; ${r.ms.toFixed(0)} ms when run again)`.trim() };
    record({ index, seed: seed.name, target: seed.target, steps, bytes, ...r });
  }
  report.wallMs = performance.now() - t0;
  return report;
}
