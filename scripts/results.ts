/**
 * Regenerates docs/results.md: every predictor of `speclab eval --predictor all` at DEFAULT settings on the shared
 * real traces, for both tasks (next layers, next tokens) in decode and in prefill, per horizon step, with the one
 * command that reproduces each table, its wall time, and per learned predictor how it trained. Answers are kept
 * under $RESULTS_DIR (default /tmp/speclab-results) and reused unless --fresh; --trace / --task / --visibility run
 * only those (several such runs can go side by side; a last run without them writes the file from the answers).
 *
 *   npx tsx scripts/results.ts [--fresh] [--trace mixtral|deepseek] [--task layers|tokens] [--visibility decode|prefill]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const SHARED = '../shared/traces-real';
const DIR = process.env.RESULTS_DIR ?? '/tmp/speclab-results';
const args = process.argv.slice(2);
const fresh = args.includes('--fresh');
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const only = opt('--trace');
const onlyTask = opt('--task');
const onlyVis = opt('--visibility');

interface TaskRun {
  task: 'layers' | 'tokens';
  visibility: 'decode' | 'prefill';
  title: string;
}
const TASKS: TaskRun[] = [
  { task: 'layers', visibility: 'decode', title: 'next layers, decode (C 3 layers of the token, H 2: layers l+1, l+2)' },
  { task: 'layers', visibility: 'prefill', title: "next layers, prefill (also every prompt token's identity and its layers up to l)" },
  { task: 'tokens', visibility: 'decode', title: 'next tokens, decode (C 3 tokens, H 2: every layer of tokens t+1, t+2)' },
  { task: 'tokens', visibility: 'prefill', title: 'next tokens, prefill (also the identities of the later prompt tokens)' },
];

interface TraceRun {
  key: string;
  title: string;
  importCmd: string;
  dir: string;
  split: string;
  evalArgs: string[];
}

const TRACES: TraceRun[] = [
  {
    key: 'mixtral',
    title: 'Mixtral-8x7B-Instruct (32 layers, 8 experts, top-2), GSM8K problems 0 and 1',
    importCmd: `npm run --silent speclab -- import ${SHARED}/mixtral-8x7b-instruct-fp8 -o /tmp/mx`,
    dir: '/tmp/mx',
    split:
      'Split by sequence with seed 0 at test fraction 0.5: problem 0 trains (its last tenth validates: the trace has one training sequence), problem 1 tests. ' +
      'The trace has neither token ids nor token text, so the token-aware model is left out and the sequence model uses routing only ' +
      "(and prefill adds nothing in the next-tokens task, whose prefill input is the later tokens' identities). " +
      'In the next-tokens task the blend chosen on the tail of problem 0 (24 validation tokens) is below Markov alone at t+2 on problem 1: ' +
      'with one training sequence, validation cannot tell the choices apart.',
    evalArgs: ['--test-fraction', '0.5', '--seed', '0'],
  },
  {
    key: 'deepseek',
    title: 'DeepSeek-V2-Lite-Chat (26 MoE layers, 64 experts, top-6), Puffin prompts 1-1000 (999 prompts)',
    importCmd: `npm run --silent speclab -- import ${SHARED}/deepseek-v2-lite-chat/puffin-1-100 ${SHARED}/deepseek-v2-lite-chat/puffin-101-1000 -o /tmp/dsall --format hook-csv`,
    dir: '/tmp/dsall',
    split:
      'Split by prompt (one CSV = one sequence) with seed 0 at test fraction 0.1: a seeded tenth of the prompts tests and is never trained or tuned on; ' +
      'a tenth of the training prompts validates. The trace records token text but no ids; models that use tokens take a vocabulary of the training prompts.',
    evalArgs: ['--test-fraction', '0.1', '--seed', '0'],
  },
];

const quote = (s: string) => (/^[\w./,:=-]+$/.test(s) ? s : `'${s}'`);

interface Result {
  kind: string;
  recallAtK: number[];
  exact: number[];
  samples: number;
  chosen?: boolean;
  validationRecallAtK?: number[];
  training?: { samples: number; epochs: number; seconds: number; samplesPerSecond: number; backend: string; path: string };
  blend?: { steps: { weights: { model: number; markov: number; temporal: number }; modelRecall: number }[] };
}
interface Answer {
  command: string;
  seconds: number;
  results: Record<string, Result>;
}

const fileOf = (t: TraceRun, k: TaskRun) => join(DIR, `${t.key}-${k.task}-${k.visibility}.json`);

function run(t: TraceRun, k: TaskRun): Answer {
  mkdirSync(DIR, { recursive: true });
  const file = fileOf(t, k);
  const argv = ['eval', t.dir, ...t.evalArgs, '--task', k.task, '--visibility', k.visibility, '--predictor', 'all', '--json'];
  const command = `npm run --silent speclab -- ${argv.map(quote).join(' ')}`;
  if (!fresh && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Answer;
  if (!existsSync(join(t.dir, 'manifest.json'))) execFileSync('bash', ['-c', t.importCmd], { stdio: 'inherit' });
  const t0 = Date.now();
  const out = execFileSync('npx', ['tsx', 'src/cli/main.ts', ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  const answer: Answer = { command, seconds: (Date.now() - t0) / 1000, results: JSON.parse(out) as Record<string, Result> };
  writeFileSync(file, JSON.stringify(answer));
  return answer;
}

function render(t: TraceRun, k: TaskRun, a: Answer): string {
  const rows = Object.entries(a.results);
  const H = rows[0]?.[1].recallAtK.length ?? 2;
  const steps = Array.from({ length: H }, (_, h) => h + 1);
  const f = (x: number) => x.toFixed(4);
  const u = k.task === 'tokens' ? 't' : 'l';
  const head = [
    'predictor',
    'kind',
    ...steps.map((h) => `recall@k ${u}+${h}`),
    ...steps.map((h) => `exact ${u}+${h}`),
    'validation recall@k',
    'training',
    'test windows',
  ];
  const best = (kind: string) => rows.filter(([, r]) => r.kind === kind).sort((x, y) => y[1].recallAtK[0] - x[1].recallAtK[0])[0];
  const bb = best('baseline');
  const bl = best('learned');
  const lines = [
    `### ${k.title}`,
    '',
    '```sh',
    a.command,
    '```',
    '',
    `Whole command: ${(a.seconds / 60).toFixed(1)} minutes.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const [name, r] of rows) {
    const mark = r === bl?.[1] || r === bb?.[1] ? '**' : '';
    // A blend that gives the model no weight at any step scores the residual baselines alone (the model was weaker on validation).
    const alone = r.blend?.steps.every((s) => s.weights.model === 0)
      ? `; model alone ${r.blend.steps.map((s) => f(s.modelRecall)).join(' / ')} on validation, so the blend keeps only the baselines`
      : '';
    const tr = r.training
      ? `${r.training.epochs} epochs × ${r.training.samples} windows, ${r.training.seconds.toFixed(0)} s (${Math.round(r.training.samplesPerSecond)}/s, ${r.training.path})${alone}`
      : '';
    lines.push(
      `| ${name}${r.chosen ? ' (chosen on validation)' : ''} | ${r.kind} | ${r.recallAtK.map((x) => mark + f(x) + mark).join(' | ')} | ${r.exact.map(f).join(' | ')} | ${r.validationRecallAtK?.map(f).join(' / ') ?? ''} | ${tr} | ${r.samples} |`,
    );
  }
  lines.push('');
  if (bb && bl) {
    // Per step against that step's best baseline.
    const bestAt = (h: number) => rows.filter(([, r]) => r.kind === 'baseline').sort((x, y) => y[1].recallAtK[h - 1] - x[1].recallAtK[h - 1])[0];
    lines.push(
      `Best learned: **${bl[0]}**, ` +
        steps
          .map((h) => {
            const b = bestAt(h);
            const d = (bl[1].recallAtK[h - 1] - b[1].recallAtK[h - 1]) * 100;
            return `recall@k ${u}+${h} ${f(bl[1].recallAtK[h - 1])} vs ${f(b[1].recallAtK[h - 1])} of ${b[0]} (${d >= 0 ? '+' : ''}${d.toFixed(1)} points)`;
          })
          .join(', ') +
        ' against the best baseline of each step.',
      '',
    );
  }
  return lines.join('\n');
}

const parts: string[] = [];
for (const t of TRACES) {
  parts.push(`## ${t.title}`, '', t.split, '', '```sh', t.importCmd, '```', '');
  for (const k of TASKS) {
    const file = fileOf(t, k);
    const selected = (!only || t.key === only) && (!onlyTask || k.task === onlyTask) && (!onlyVis || k.visibility === onlyVis);
    if (selected) parts.push(render(t, k, run(t, k)));
    else if (existsSync(file)) parts.push(render(t, k, JSON.parse(readFileSync(file, 'utf8')) as Answer));
    else
      parts.push(
        `### ${k.title}`,
        '',
        `Not measured in this run (npx tsx scripts/results.ts --trace ${t.key} --task ${k.task} --visibility ${k.visibility}).`,
        '',
      );
  }
}
const doc = `# Speculation results on the shared real traces

Every predictor of \`speclab eval --predictor all\` at **default settings** (no \`--model-config\`: learning rate,
batch size, epochs and early stopping chosen from the data, src/ml/schedule.ts) on held-out sequences of the
shared traces in \`../shared/traces-real/\`, per horizon step: recall@k (mean share of the true top-k among the
predicted top-k) and exact (the predicted top-k set equals the true one), for both tasks of src/core/tasks/task.ts:
next layers (from a token's layers l-2..l, its layers l+1, l+2) and next tokens (from the last 3 tokens' routing,
every layer of tokens t+1, t+2), each in decode (a prediction sees the tokens so far) and prefill (also every
token identity of the prompt; in the next-layers task also the layers up to l of every prompt token). The tfjs
models predict next layers in decode only, so \`all\` leaves them out of the other three. Every learned model carries the Markov and temporal
baselines as residual logits weighted on the validation split (src/ml/blend.ts); "validation recall@k" is what the
predictor scored on the held-out training sequences, which is how \`eval\` chooses one (never on the test split).

Regenerate this file (imports the traces into /tmp first when missing):

\`\`\`sh
npx tsx scripts/results.ts --fresh
\`\`\`

${process.env.RESULTS_NOTE ?? `Measured ${new Date().toISOString().slice(0, 10)} on a ${cpus().length}-core x86-64 machine, Node ${process.versions.node}; tfjs models on the WASM backend, the sequence model on its CPU engine.`}

${parts.join('\n')}`;
writeFileSync('docs/results.md', doc);
process.stderr.write('wrote docs/results.md\n');
