// Figures of the hostile-file test (docs/reliability.md): every file of ../shared/arrow-fuzz/ and of
// src/core/trace/fixtures/regressions/ through the page's worker path (runDecodeJob in process, as a trace
// set shard and as a lone shard) and the CLI's guarded path (validatePath with the validate budget).
// Usage: npx tsx scripts/fuzz-hostile.ts [--list]
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuardedDecoder } from '../src/cli/guardedDecode';
import { VALIDATE_BUDGET, validatePath } from '../src/cli/validate';
import { runDecodeJob, type DecodeJob } from '../src/core/trace/decodeJobs';
import { parseManifest } from '../src/core/trace/manifest';
import { TraceError } from '../src/core/trace/types';
import { modernizeLegacyStream } from '../src/fuzz/legacy';
import { isClearMessage } from '../src/fuzz/run';

const HOSTILE = fileURLToPath(new URL('../../shared/arrow-fuzz/', import.meta.url));
const REGRESSIONS = fileURLToPath(new URL('../src/core/trace/fixtures/regressions/', import.meta.url));
const demo = parseManifest(readFileSync(fileURLToPath(new URL('../traces/demo/manifest.json', import.meta.url)), 'utf8'));
const list = process.argv.includes('--list');
const TMP = mkdtempSync(join(tmpdir(), 'speclab-hostile-'));

const files = [
  ...(existsSync(HOSTILE)
    ? readdirSync(HOSTILE)
        .filter((f) => f.startsWith('arrow-ipc'))
        .map((f) => join(HOSTILE, f))
    : []),
  ...readdirSync(REGRESSIONS)
    .filter((f) => f.endsWith('.arrow'))
    .map((f) => join(REGRESSIONS, f)),
].sort();

interface Tally {
  accepted: number;
  clear: number;
  unclear: number;
  faults: number;
  slowestMs: number;
  slowest: string;
}
const tally = (): Tally => ({ accepted: 0, clear: 0, unclear: 0, faults: 0, slowestMs: 0, slowest: '' });
const page = tally();
const cli = tally();
const reasons = new Map<string, number>();

function count(t: Tally, ms: number, name: string, outcome: 'accepted' | 'clear' | 'unclear' | 'fault'): void {
  if (outcome === 'accepted') t.accepted++;
  else if (outcome === 'clear') t.clear++;
  else if (outcome === 'unclear') t.unclear++;
  else t.faults++;
  if (ms > t.slowestMs) {
    t.slowestMs = ms;
    t.slowest = name;
  }
}

const decoder = new GuardedDecoder({ ...VALIDATE_BUDGET, maxHeapMb: 2048 });
await validatePath(fileURLToPath(new URL('../traces/demo/shard-00000.arrow', import.meta.url)), { decoder }); // start the worker
let modernized = 0;
for (const path of files) {
  const name = path.split('/').pop()!;
  const original = new Uint8Array(readFileSync(path));
  // Old-framing streams also go in rewritten to the current framing (src/fuzz/legacy.ts), to reach deeper.
  const modern = modernizeLegacyStream(original);
  if (modern) modernized++;
  const variants: [Uint8Array, string][] = modern
    ? [
        [original, name],
        [modern, `${name} (current framing)`],
      ]
    : [[original, name]];
  for (const [bytes, label] of variants) {
    for (const job of [
      { kind: 'decode', id: 0, bytes: bytes.slice(), manifest: demo, where: label, tokens: 1024 },
      { kind: 'inspect', id: 1, bytes: bytes.slice(), where: label },
    ] as DecodeJob[]) {
      const t0 = performance.now();
      const { reply } = await runDecodeJob(job);
      const ms = performance.now() - t0;
      const outcome = reply.ok ? 'accepted' : reply.fault ? 'fault' : isClearMessage(new TraceError(reply.message, reply.where)) ? 'clear' : 'unclear';
      count(page, ms, `${label} (${job.kind})`, outcome);
      if (!reply.ok) {
        const reason = reply.message
          .replace(/\d+/g, 'N')
          .replace(/^(message|record batch|dictionary batch) N at byte N: /, '$1: ')
          .slice(0, 70);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      if (list && job.kind === 'decode') process.stdout.write(`${label}\t${bytes.length} B\t${ms.toFixed(1)} ms\t${reply.ok ? 'ACCEPTED' : reply.message}\n`);
    }
  }
  const paths = [path];
  if (modern) {
    paths.push(join(TMP, `${name}.current-framing`));
    writeFileSync(paths[1], modern);
  }
  for (const p of paths) {
    const t0 = performance.now();
    const err = await validatePath(p, { decoder }).then(
      () => null,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    count(cli, ms, p.split('/').pop()!, err === null ? 'accepted' : err instanceof TraceError ? (isClearMessage(err) ? 'clear' : 'unclear') : 'fault');
  }
}
await decoder.close();

const line = (label: string, t: Tally) =>
  `${label}: ${t.accepted} accepted, ${t.clear} rejected with a clear message, ${t.unclear} unclear, ${t.faults} faults; slowest ${t.slowestMs.toFixed(1)} ms (${t.slowest})`;
process.stdout.write(
  `${files.length} files (${files.filter((f) => f.startsWith(HOSTILE)).length} from ../shared/arrow-fuzz, the rest fuzz findings); ${modernized} old-framing streams also rewritten to the current framing\n`,
);
process.stdout.write(line('page worker path (runDecodeJob, shard of a trace set + lone shard)', page) + '\n');
process.stdout.write(line(`CLI guarded path (validatePath, budget ${VALIDATE_BUDGET.baseMs} ms)`, cli) + '\n');
process.stdout.write('most common rejections:\n');
for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8)) process.stdout.write(`  ${n}\t${r}\n`);
