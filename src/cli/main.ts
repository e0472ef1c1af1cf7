#!/usr/bin/env node
// The speclab CLI: import, stats and eval over the same core the notebook uses.
// Usage: npm run --silent speclab -- <command> [options]   (see `help`)
import { realpathSync } from 'node:fs';
import { readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { computeStats } from '../core/analysis/stats';
import { statsTable, statsToCsv } from '../core/analysis/statsCsv';
import { BASELINES } from '../core/predictors/baselines';
import { BASELINE_NAMES, makeBaseline } from '../core/predictors/registry';
import { type PredictorResult } from '../core/predictors/evaluate';
import { simulateCache, type CachePolicy } from '../core/metrics/cache';
import { estimateOffload, MIXTRAL_3090 } from '../core/metrics/offload';
import { readTraceSet } from '../core/trace/read';
import {
  classifyFile,
  detectFormat,
  IMPORT_FORMATS,
  importFilesAsync,
  SNIFF_BYTES,
  type ImportFormat,
  type LogFormat,
  type RawFile,
} from '../core/trace/importers';
import { filterDatasets } from '../core/experiment/datasets';
import { describeSplit, splitForRun } from '../core/tasks/split';
import { checkTask, DEFAULT_TASK, TASK_KINDS, VISIBILITIES, type TaskSpec } from '../core/tasks/task';
import { modelTaskProblem } from '../core/experiment/modelConfig';
import { shapeFromModelConfig } from '../core/trace/importers/modelConfig';
import { parseManifest } from '../core/trace/manifest';
import { TraceError, type Manifest, type TraceSet } from '../core/trace/types';
import { dirSource, isDirectory, writeTraceSet } from './fsTrace';
import { GuardedDecoder } from './guardedDecode';
import { checkShape, validatePath } from './validate';
import { LEARNED_PREDICTORS } from '../ml/config';
import { tokenlessReason } from '../ml/models/vocabulary';
import { describeLearned, isLearned, LEARNED_CLI_HELP, LEARNED_CLI_OPTIONS, learnedOptions, makeLearnedPredictor } from '../ml/cliLearned';
import { evaluatePredictors } from '../ml/evaluatePredictors';
import { addLookaheadCurve, lookaheadCurveText, selectLookahead } from './evalLookahead';

const HELP = `speclab <command> [options]        (speclab <command> --help prints this too)

  import <file-or-folder>... -o <dir> [--format auto|jsonl|hook-csv|vllm|sglang|hf-router-logits|flame-moe]
         [--layers N --top-k K | --config config.json (sglang)] [--model NAME]
         [--experts E] [--dataset NAME] [--shard-tokens N] [--allow-layer-gaps] [--force] [--json]
      Convert routing logs (JSONL per token and layer, per-layer hook CSV, vLLM routed_experts JSONL/.npy/.npz,
      SGLang base64 routed experts, HF router logits in safetensors, FLAME-MoE Parquet) into a trace set.
      Folder members that are not routing logs are skipped, each listed with why. A file named
      twice (or also inside a folder named) is read once. -o must be a new or empty folder or a trace set's own
      (re-import); a folder holding other files needs --force; never inside the shared folder (../shared).
  validate <file-or-folder> [--experts E] [--top-k K] [--layers L] [--json]
      Check a trace set, a lone shard or routing logs (exit 1 with one line naming the problem).
  stats <dir> [--dataset NAME,...] [--json | --csv]
      Per-layer utilisation entropy, temporal reuse and expert-load balance (busiest expert's share, active
      fraction, coefficient of variation, normalised entropy) of a trace set; --csv: one row per layer.
  eval <train-dir> (--test <test-dir> | --test-fraction F) [--dataset NAME,...] [--predictor LIST|all]
       [--task layers|tokens] [--visibility decode|prefill] [--context C] [--horizon H] [--seed S] [--epochs N]
       [--backend B] [--model-config JSON] [--json]
      Fit predictors on the training set and score them on the test set, per horizon step. --task layers
      (default): from a token's layers l-C+1..l predict its layers l+1..l+H; --task tokens: from the last C
      tokens' routing predict every layer of tokens t+1..t+H. --visibility decode (default): a prediction sees
      the tokens so far; prefill: also every token identity of the prompt (and, for layers, the layers up to l
      of every prompt token). The sequence model and the baselines predict every task; the other learned
      models next layers in decode (all leaves them out of other tasks).
      Predictors: ${BASELINE_NAMES.join(', ')} (baselines; lookahead: the trace's lookahead gate, where it has
      lookahead_logits); all = every baseline and learned one the trace allows.
${LEARNED_CLI_HELP}
  cache <dir> [--capacity C,...] [--policy lru,lfu,prefetch] [--predictor markov] [--test-fraction F] [--seed S]
        [--dataset NAME,...] [--bits 8] [--bandwidth-gbs 25] [--compute-ms-per-layer 0.45] [--hidden 4096]
        [--ffn 14336] [--json]
      Expert-cache hit rates per policy and cache size (experts per layer, 1..E), and the decode speed they imply
      when experts are offloaded (defaults: Mixtral 8x7B, 8-bit experts, RTX 3090 over PCIe 4.0 x16).

  Options with one meaning in every command that takes them, by input:
  --experts E, --top-k K, --layers L   the shape: routing logs must fit it (validate: all three; import:
      --experts, and --layers/--top-k for SGLang's flat layout; expert ids < E, default E = largest id + 1); a
      lone shard (validate) is read with it instead of inferring it; a trace set (validate) must have it.
      --num-experts is an older name of --experts.
  --dataset   import (JSONL and hook CSV): the dataset name of every sequence (default: JSONL records' "dataset",
      a hook CSV's folder name). stats, eval, cache (trace sets): keep only these datasets, comma-separated.
  --test-fraction F, --seed S   eval, cache: hold out a share 0 < F < 1 of the sequences for testing (cache
      default 0.2; seed default 0). Each part gets at least one sequence, the same for the same seed, and the
      split is reported on stderr; a trace of one sequence cannot be split (give eval --test instead).
  --json      one JSON value on stdout, nothing else there.
  Exit status: 0 done, 1 bad input (a file or trace set), 2 bad usage (commands, options and their values, all
  checked before any trace is read); errors are one line on stderr.
`;

class UsageError extends Error {}

/** Where the CLI writes: the process's stdout and stderr, or a test's buffers. Writes resolve once flushed. */
export interface CliIo {
  out(text: string): Promise<void>;
  err(text: string): Promise<void>;
  /** A decoder to share between commands (tests running many in process); by default one per trace read, closed after. */
  decoder?: GuardedDecoder;
}

/** Set by runCli for the command it runs. */
let sharedDecoder: GuardedDecoder | undefined;

/** Resolves once the stream has handed `text` to the OS: exiting earlier cuts a pipe's output at 64 KiB. */
const flushed = (stream: NodeJS.WriteStream, text: string) => new Promise<void>((res) => (text ? stream.write(text, () => res()) : res()));
export const PROCESS_IO: CliIo = { out: (t) => flushed(process.stdout, t), err: (t) => flushed(process.stderr, t) };

/** The shared traces folder (read-only test data beside the repository): never written to. */
const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

/** A number option strictly between 0 and 1. */
function fractionOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!/^\s*[0-9.eE+-]+\s*$/.test(v) || !(x > 0 && x < 1)) throw new UsageError(`--${name} must be a number between 0 and 1, exclusive (got "${v}")`);
  return x;
}

/** --dataset a,b of stats, eval and cache: names, none empty. */
function datasetList(v: string | boolean | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const names = String(v).split(',');
  if (names.some((n) => n.trim() === '')) throw new UsageError(`--dataset needs dataset names, comma-separated, none empty (got "${v}")`);
  return names.map((n) => n.trim());
}

/** Indices of the named datasets in a trace set; a name it lacks is a usage error. */
function datasetIndices(m: Manifest, names: string[]): number[] {
  return names.map((name) => {
    const i = m.datasets.indexOf(name);
    if (i < 0) throw new UsageError(`--dataset "${name}" is not in this trace set (it has: ${m.datasets.join(', ')})`);
    return i;
  });
}

/** --experts (or its older name --num-experts), --top-k and --layers, each an integer when given. */
function shapeOptions(v: Record<string, string | boolean | undefined>): { numExperts?: number; topK?: number; numLayers?: number } {
  if (v.experts !== undefined && v['num-experts'] !== undefined && v.experts !== v['num-experts'])
    throw new UsageError('--experts and --num-experts (its older name) disagree');
  const experts = (v.experts ?? v['num-experts']) as string | undefined;
  const get = (k: string, min: number) => (v[k] === undefined ? undefined : intOption(v[k] as string, k, 0, min));
  return { numExperts: experts === undefined ? undefined : intOption(experts, 'experts', 0, 1), topK: get('top-k', 1), numLayers: get('layers', 1) };
}

const isTraceSetFile = (name: string) => name === 'manifest.json' || /^shard-\d+\.arrow$/.test(name) || /\.tmp-\d+$/.test(name);

/** The real path of `p`, or of its deepest existing parent joined with the rest. */
async function realpathNearest(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await realpath(abs);
  } catch {
    const up = dirname(abs);
    return up === abs ? abs : join(await realpathNearest(up), abs.slice(up.length));
  }
}

/** import -o: a new or empty folder, or a trace set's; never inside ../shared; other files only with --force. */
async function checkOutputFolder(out: string, force: boolean): Promise<void> {
  const real = await realpathNearest(out);
  const shared = await realpathNearest(SHARED);
  if (real === shared.replace(/\/$/, '') || real.startsWith(shared.endsWith(sep) ? shared : shared + sep))
    throw new UsageError(`-o ${out}: is inside the shared traces folder ${shared} (read-only test data); write the trace set elsewhere`);
  let st;
  try {
    st = await stat(out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new UsageError(`-o ${out}: ${code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : (e as Error).message}`);
  }
  if (!st.isDirectory()) throw new UsageError(`-o ${out}: is a file, not a folder (name a new folder for the trace set)`);
  const foreign = (await readdir(out)).filter((f) => !isTraceSetFile(f));
  if (foreign.length && !force)
    throw new UsageError(
      `-o ${out}: the folder holds files that are not a trace set's (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); name a new folder, or pass --force to write into it`,
    );
}

function intOption(v: string | undefined, name: string, def: number, min: number): number {
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer ≥ ${min} (got "${v}")`);
  return Number(v);
}

function enumOption<const V extends string>(v: string | undefined, name: string, values: readonly V[], def: V): V {
  if (v === undefined) return def;
  if (!(values as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${values.join(', ')} (got "${v}")`);
  return v as V;
}

/** Reads a trace set folder; `before` checks options against its manifest before any shard is read. */
async function withTraceSet<T>(dir: string, fn: (set: TraceSet) => T | Promise<T>, before?: (m: Manifest) => void): Promise<T> {
  if (!(await isDirectory(dir))) throw new TraceError('not a folder (expected a trace set: manifest.json and shards)', resolve(dir));
  const src = dirSource(dir);
  if (before) before(parseManifest(await src.readText('manifest.json'), `${src.label}/manifest.json`));
  const decoder = sharedDecoder ?? new GuardedDecoder();
  try {
    return await fn(await readTraceSet(src, { decode: (b, m, w, n) => decoder.decode(b, m, w, n) }));
  } finally {
    if (decoder !== sharedDecoder) await decoder.close();
  }
}

/** Files to import: named files as given, folders walked for files whose contents look like routing logs. */
async function collectInputs(paths: string[], format: ImportFormat, io: CliIo, skipped: { file: string; reason: string }[] = []): Promise<RawFile[]> {
  const out: RawFile[] = [];
  // Each file once, however it is reached (named twice, or named and inside a named folder).
  const seen = new Set<string>();
  const visit = async (p: string, named: boolean, root: string) => {
    const real = await realpath(p).catch(() => resolve(p));
    if (seen.has(real)) {
      await io.err(`reading ${p} once: it was named already\n`);
      return;
    }
    seen.add(real);
    if (await isDirectory(p)) {
      const entries = (await readdir(p)).sort();
      for (const e of entries) await visit(join(p, e), false, root);
      return;
    }
    const data = await readFile(p).catch((e: NodeJS.ErrnoException) => {
      throw new TraceError(e.code === 'ENOENT' ? 'no such file or folder' : e.message, p);
    });
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Names keep the folder relative to the argument, so hook-csv can use the parent folder as dataset name
    // (and FLAME-MoE's samples/ and actives/ show).
    const name = named ? p : join(root.split('/').filter(Boolean).pop() ?? '', relative(root, p));
    // Inside folders, judge by content alone: a folder may hold other JSONL (e.g. generated text) beside the logs.
    const c = named ? { format: detectFormat(p, bytes.subarray(0, SNIFF_BYTES)), reason: undefined } : classifyFile(name, bytes.subarray(0, SNIFF_BYTES));
    const fmt = c.format;
    const wanted = format === 'auto' ? IMPORT_FORMATS.includes(fmt as LogFormat) : fmt === format || named;
    if (!wanted) {
      if (named) throw new TraceError(`not a routing log this importer reads (detected: ${fmt ?? 'unknown'})`, p);
      const reason = c.reason ?? `${fmt ?? 'unknown'} contents, not ${format}`;
      skipped.push({ file: p, reason });
      await io.err(`skipping ${p}: ${reason}\n`);
      return;
    }
    out.push({ name, data: bytes });
  };
  for (const p of paths) await visit(p, true, p);
  if (!out.length) throw new TraceError('no routing logs found', paths.join(', '));
  return out;
}

function printEvalTable(results: Record<string, PredictorResult>, task: TaskSpec): string {
  const rows: string[] = [];
  const H = Object.values(results)[0]?.recallAtK.length ?? 0;
  // Steps are layers l+h of the token, or tokens t+h (every layer) in the next-tokens task.
  const step = (h: number) => `${task.kind === 'tokens' ? 't' : 'l'}+${h + 1}`;
  const head = [
    'predictor',
    'kind',
    ...Array.from({ length: H }, (_, h) => `recall@k ${step(h)}`),
    ...Array.from({ length: H }, (_, h) => `exact ${step(h)}`),
    'top1',
    'top3',
    'top5',
  ];
  rows.push(head.join('\t'));
  for (const [name, r] of Object.entries(results))
    rows.push(
      [
        name,
        r.kind,
        ...r.recallAtK.map((v) => v.toFixed(4)),
        ...r.exact.map((v) => v.toFixed(4)),
        r.top1[0].toFixed(4),
        r.top3[0].toFixed(4),
        r.top5[0].toFixed(4),
      ].join('\t'),
    );
  return rows.join('\n') + '\n';
}

async function main(argv: string[], io: CliIo): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h' || rest.includes('--help') || rest.includes('-h')) {
    await io.out(HELP);
    return;
  }
  type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
  const parse = (options: Options) => {
    try {
      const r = parseArgs({ args: rest, options: { json: { type: 'boolean' }, ...options }, allowPositionals: true, strict: true });
      return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  const emit = (json: boolean | undefined, value: unknown, text: () => string) => io.out(json ? JSON.stringify(value) + '\n' : text());
  /** The run's split (src/core/tasks/split.ts, as on the page), reported on stderr; a trace that cannot be split is bad input. */
  const split = async (set: TraceSet, dir: string, req: { datasets?: string[]; testFraction: number; seed: number; task?: TaskSpec }) => {
    if (req.datasets) datasetIndices(set.manifest, req.datasets);
    let r;
    try {
      r = splitForRun(set, { ...req, datasets: req.datasets ?? [] });
    } catch (e) {
      throw new TraceError((e as Error).message, resolve(dir));
    }
    await io.err(describeSplit(r.split, req) + '\n');
    return r;
  };

  switch (cmd) {
    case 'import': {
      const { values: v, positionals } = parse({
        out: { type: 'string', short: 'o' },
        format: { type: 'string', default: 'auto' },
        model: { type: 'string' },
        experts: { type: 'string' },
        'num-experts': { type: 'string' },
        dataset: { type: 'string' },
        'shard-tokens': { type: 'string' },
        'allow-layer-gaps': { type: 'boolean' },
        force: { type: 'boolean' },
        layers: { type: 'string' },
        'top-k': { type: 'string' },
        config: { type: 'string' },
      });
      if (!positionals.length) throw new UsageError('import needs at least one file or folder');
      if (!v.out) throw new UsageError('import needs -o <dir>');
      const format = v.format as string;
      if (format !== 'auto' && !IMPORT_FORMATS.includes(format as LogFormat))
        throw new UsageError(`--format must be auto, ${IMPORT_FORMATS.join(', ')} (got "${format}")`);
      let { numExperts, numLayers, topK } = shapeOptions(v);
      // --config: the shape from the model's config.json; options given as well must agree with it.
      if (typeof v.config === 'string') {
        const path = v.config;
        const text = await readFile(path, 'utf8').catch((e: Error) => {
          throw new UsageError(`--config ${path}: ${e.message}`);
        });
        let c: ReturnType<typeof shapeFromModelConfig>;
        try {
          c = shapeFromModelConfig(text, path);
        } catch (e) {
          throw new UsageError(`--config ${(e as Error).message}`);
        }
        const agree = (name: string, given: number | undefined, fromConfig: number | undefined) => {
          if (given !== undefined && fromConfig !== undefined && given !== fromConfig)
            throw new UsageError(`--${name} ${given} disagrees with --config ${path} (${fromConfig})`);
          return given ?? fromConfig;
        };
        numLayers = agree('layers', numLayers, c.numLayers);
        topK = agree('top-k', topK, c.topK);
        numExperts = agree('experts', numExperts, c.numExperts);
      }
      if (numExperts !== undefined && numExperts < 2) throw new UsageError(`--experts must be an integer ≥ 2 (got "${numExperts}")`);
      const dataset = v.dataset as string | undefined;
      if (dataset !== undefined && (dataset.trim() === '' || dataset.includes(',')))
        throw new UsageError(`--dataset must be one non-empty name without commas (got "${dataset}")`);
      const shardTokens = intOption(v['shard-tokens'] as string | undefined, 'shard-tokens', 262_144, 1);
      await checkOutputFolder(v.out as string, Boolean(v.force));
      const skipped: { file: string; reason: string }[] = [];
      const files = await collectInputs(positionals, format as ImportFormat, io, skipped);
      const r = await importFilesAsync(files, format as ImportFormat, {
        model: v.model as string | undefined,
        numExperts,
        layers: numLayers,
        topK,
        dataset,
        allowLayerGaps: v['allow-layer-gaps'] as boolean | undefined,
        description: `Imported by speclab from ${positionals.join(', ')}.`,
      });
      // --dataset names every sequence's dataset whatever the format (the JSONL importer keeps each record's).
      if (dataset !== undefined) {
        for (const c of r.set.chunks) c.dataset.fill(0);
        r.set = { ...r.set, manifest: { ...r.set.manifest, datasets: [dataset] } };
      }
      let m: Manifest;
      try {
        m = await writeTraceSet(v.out as string, r.set, { shardTokens });
      } catch (e) {
        if (e instanceof TraceError) throw e;
        throw new TraceError(`cannot write the trace set (${(e as Error).message})`, resolve(v.out as string));
      }
      // Shards of an earlier import into the same folder that this one did not rewrite.
      const written = new Set(m.shards.map((x) => x.file));
      for (const f of await readdir(v.out as string)) if (/^shard-\d+\.arrow$/.test(f) && !written.has(f)) await rm(join(v.out as string, f), { force: true });
      const summary = {
        out: resolve(v.out as string),
        files: files.length,
        records: r.records,
        tokens: r.tokens,
        droppedTokens: r.droppedTokens,
        sequences: r.sequences,
        layers: m.numLayers,
        experts: m.numExperts,
        topK: m.topK,
        shards: m.shards.length,
        skipped,
      };
      await emit(
        v.json as boolean,
        summary,
        () =>
          `imported ${summary.tokens} tokens (${summary.droppedTokens} dropped) in ${summary.sequences} sequences, ${m.numLayers} layers x ${m.numExperts} experts top-${m.topK}, into ${summary.out}${skipped.length ? `; skipped ${skipped.length} file(s) that are not routing logs (listed on stderr)` : ''}\n`,
      );
      return;
    }
    case 'stats': {
      const { values: v, positionals } = parse({ dataset: { type: 'string' }, csv: { type: 'boolean' } });
      if (positionals.length !== 1) throw new UsageError('stats takes one trace set folder');
      if (v.csv && v.json) throw new UsageError('stats takes one of --json or --csv');
      const names = datasetList(v.dataset);
      await withTraceSet(
        positionals[0],
        async (set) => {
          const datasets = names && new Set(datasetIndices(set.manifest, names));
          const s = computeStats(set, { datasets });
          await emit(v.json as boolean, s, () => (v.csv ? statsToCsv(s) : statsTable(s, set.manifest.model.name)));
        },
        (m) => names && datasetIndices(m, names),
      );
      return;
    }
    case 'eval': {
      const { values: v, positionals } = parse({
        test: { type: 'string' },
        'test-fraction': { type: 'string' },
        predictor: { type: 'string', default: 'frequency,markov,temporal' },
        task: { type: 'string' },
        visibility: { type: 'string' },
        context: { type: 'string' },
        horizon: { type: 'string' },
        seed: { type: 'string' },
        dataset: { type: 'string' },
        ...LEARNED_CLI_OPTIONS,
      });
      if (positionals.length !== 1) throw new UsageError('eval takes one training trace set folder');
      if (!v.test === (v['test-fraction'] === undefined)) throw new UsageError('eval needs exactly one of --test <dir> or --test-fraction F');
      const testFraction = fractionOption(v['test-fraction'] as string | undefined, 'test-fraction');
      const datasets = datasetList(v.dataset);
      const task: TaskSpec = {
        kind: enumOption(v.task as string | undefined, 'task', TASK_KINDS, 'layers'),
        context: intOption(v.context as string | undefined, 'context', DEFAULT_TASK.context, 1),
        horizon: intOption(v.horizon as string | undefined, 'horizon', DEFAULT_TASK.horizon, 1),
        visibility: enumOption(v.visibility as string | undefined, 'visibility', VISIBILITIES, 'decode'),
      };
      const seed = intOption(v.seed as string | undefined, 'seed', 0, 0);
      const known = [...BASELINE_NAMES, ...LEARNED_PREDICTORS];
      const names = (v.predictor as string) === 'all' ? known : (v.predictor as string).split(',').map((s) => s.trim());
      for (const n of names) if (!known.includes(n)) throw new UsageError(`unknown predictor "${n}" (known: ${known.join(', ')}, all)`);
      // `all` keeps the learned models that predict this task (and says which it left out); naming another fails.
      for (const n of [...names]) {
        const problem = isLearned(n) ? modelTaskProblem(n, task) : undefined;
        if (!problem) continue;
        if ((v.predictor as string) !== 'all') throw new UsageError(`--predictor ${n}: ${problem} (--task, --visibility)`);
        names.splice(names.indexOf(n), 1);
        io.err(`${n}: left out: ${problem}\n`);
      }
      // Bad model options fail before any reading.
      if (names.some(isLearned)) {
        try {
          learnedOptions(v, seed);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      const usable = (m: Manifest) => {
        try {
          checkTask(m.numLayers, task);
        } catch (e) {
          throw new UsageError(`${(e as Error).message} (--context, --horizon)`);
        }
        if (datasets) datasetIndices(m, datasets);
      };
      const results = await withTraceSet(
        positionals[0],
        async (first) => {
          let train = first;
          let test: TraceSet;
          if (v.test) {
            test = await withTraceSet(v.test as string, (t) => t, usable);
            if (datasets) {
              train = filterDatasets(train, datasetIndices(train.manifest, datasets));
              test = filterDatasets(test, datasetIndices(test.manifest, datasets));
            }
          } else ({ train, test } = await split(first, positionals[0], { datasets, testFraction: testFraction!, seed, task }));
          const log = (line: string) => void io.err(line);
          // `all` leaves out what cannot run on this trace (token-aware without tokens) and says so; naming it fails.
          const tokenless = tokenlessReason(train);
          if ((v.predictor as string) === 'all' && tokenless && names.includes('token-aware')) {
            names.splice(names.indexOf('token-aware'), 1);
            log(`token-aware: left out: ${tokenless}\n`);
          }
          try {
            selectLookahead(names, (v.predictor as string) === 'all', train, test, task, log);
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
          const predictors = await Promise.all(
            names.map((n) =>
              isLearned(n)
                ? makeLearnedPredictor(n, train.manifest, seed, v, log).catch((e: Error) => Promise.reject(new UsageError(e.message)))
                : makeBaseline(n, train.manifest, seed),
            ),
          );
          let results: Record<string, PredictorResult>;
          try {
            results = await evaluatePredictors(predictors, train, test, task);
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
          await describeLearned(predictors, results as unknown as Record<string, Record<string, unknown>>, train, test, task, v, seed, log);
          addLookaheadCurve(results, test, task);
          return results;
        },
        usable,
      );
      await emit(v.json as boolean, results, () => printEvalTable(results, task) + lookaheadCurveText(results));
      return;
    }
    case 'cache': {
      const { values: v, positionals } = parse({
        capacity: { type: 'string' },
        policy: { type: 'string', default: 'lru,lfu,prefetch' },
        predictor: { type: 'string', default: 'markov' },
        'test-fraction': { type: 'string', default: '0.2' },
        seed: { type: 'string' },
        dataset: { type: 'string' },
        bits: { type: 'string', default: String(MIXTRAL_3090.bitsPerWeight) },
        'bandwidth-gbs': { type: 'string', default: String(MIXTRAL_3090.bandwidthGBs) },
        'compute-ms-per-layer': { type: 'string', default: String(MIXTRAL_3090.computeMsPerLayer) },
        hidden: { type: 'string', default: String(MIXTRAL_3090.hidden) },
        ffn: { type: 'string', default: String(MIXTRAL_3090.ffn) },
      });
      if (positionals.length !== 1) throw new UsageError('cache takes one trace set folder');
      const policies = (v.policy as string).split(',');
      for (const p of policies) if (!['lru', 'lfu', 'prefetch'].includes(p)) throw new UsageError(`unknown cache policy "${p}" (lru, lfu, prefetch)`);
      const num = (name: string) => {
        const x = Number(v[name]);
        if (!(x > 0)) throw new UsageError(`--${name} must be a positive number (got "${v[name]}")`);
        return x;
      };
      const seed = intOption(v.seed as string | undefined, 'seed', 0, 0);
      const testFraction = fractionOption(v['test-fraction'] as string, 'test-fraction')!;
      const datasets = datasetList(v.dataset);
      const given = v.capacity === undefined ? undefined : (v.capacity as string).split(',').map((c) => intOption(c, 'capacity', 0, 1));
      const factory = BASELINES[v.predictor as string];
      if (!factory) throw new UsageError(`unknown predictor "${v.predictor}" (known: ${Object.keys(BASELINES).join(', ')})`);
      const hw = {
        bitsPerWeight: num('bits'),
        bandwidthGBs: num('bandwidth-gbs'),
        computeMsPerLayer: num('compute-ms-per-layer'),
        hidden: num('hidden'),
        ffn: num('ffn'),
      };
      const fits = (m: Manifest) => {
        for (const c of given ?? [])
          if (c > m.numExperts)
            throw new UsageError(`--capacity ${c} is more than the trace's ${m.numExperts} experts per layer (capacities are 1..${m.numExperts})`);
        if (datasets) datasetIndices(m, datasets);
      };
      const rows = await withTraceSet(
        positionals[0],
        async (set) => {
          const { numLayers: L, numExperts: E, topK: K } = set.manifest;
          const caps = given ?? Array.from({ length: E - K + 1 }, (_, i) => K + i);
          // The prefetching predictor learns on a held-out part (by sequence); every policy is scored on the rest.
          // No task, so no window caps: the simulation is linear in the tokens and replays the whole test part.
          const { train, test } = await split(set, positionals[0], { datasets, testFraction, seed });
          const predictor = factory(set.manifest, seed);
          await predictor.fit(train, { context: 1, horizon: 1 });
          const params = { ...MIXTRAL_3090, numLayers: L, topK: K, ...hw };
          return caps.flatMap((capacity) =>
            policies.map((policy) => {
              const r = simulateCache(test, { capacity, policy: policy as CachePolicy, predictor: policy === 'prefetch' ? predictor : undefined });
              const est = estimateOffload(params, r.hitRate, r.prefetches / Math.max(1, r.tokens));
              return {
                capacity,
                policy,
                hitRate: r.hitRate,
                prefetchesPerToken: r.prefetches / Math.max(1, r.tokens),
                usefulPrefetches: r.usefulPrefetches,
                estTokensPerSecond: est.tokensPerSecond,
                layerHitRate: r.layerHitRate,
              };
            }),
          );
        },
        fits,
      );
      await emit(
        v.json as boolean,
        rows,
        () =>
          [
            'capacity\tpolicy\thit rate\tprefetch/token\test. tokens/s',
            ...rows.map((r) => `${r.capacity}\t${r.policy}\t${r.hitRate.toFixed(4)}\t${r.prefetchesPerToken.toFixed(2)}\t${r.estTokensPerSecond.toFixed(2)}`),
          ].join('\n') + '\n',
      );
      return;
    }
    case 'validate': {
      const { values: v, positionals } = parse({
        layers: { type: 'string' },
        'top-k': { type: 'string' },
        experts: { type: 'string' },
        'num-experts': { type: 'string' },
      });
      if (positionals.length !== 1) throw new UsageError('validate takes one file or folder');
      const r = await validatePath(positionals[0], { hints: shapeOptions(v), decoder: io.decoder });
      await emit(v.json as boolean, r, () => r.summary + '\n');
      return;
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (speclab --help lists them)`);
  }
}

/**
 * Runs one command and returns its exit status: 0 done, 1 bad input, 2 bad usage. Errors about input or usage
 * are one line on `io.err`; anything else is a bug worth its stack. Every write has been flushed on return.
 */
export async function runCli(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  sharedDecoder = io.decoder;
  try {
    await main(argv, io);
    return 0;
  } catch (e) {
    const err = e as Error;
    if (err instanceof TraceError || err instanceof UsageError) await io.err(`speclab: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    else await io.err(`speclab: internal error: ${err?.stack ?? String(e)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** Run as a program (tsx src/cli/main.ts), not imported (tests call runCli in process). */
function isEntry(): boolean {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
const entry = isEntry();
// Exit only once stdout and stderr are flushed (runCli awaits its writes), so a slow pipe reader gets everything.
if (entry) void runCli(process.argv.slice(2)).then((code) => process.exit(code));
