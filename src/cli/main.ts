#!/usr/bin/env node
// The speclab CLI: import, stats and eval over the same core the notebook uses.
// Usage: npm run --silent speclab -- <command> [options]   (see `help`)
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeStats } from '../core/analysis/stats';
import { BASELINES } from '../core/predictors/baselines';
import { type PredictorResult } from '../core/predictors/evaluate';
import { simulateCache, type CachePolicy } from '../core/metrics/cache';
import { estimateOffload, MIXTRAL_3090 } from '../core/metrics/offload';
import { readTraceSet } from '../core/trace/read';
import { detectFormat, importFiles, SNIFF_BYTES, type ImportFormat, type RawFile } from '../core/trace/importers';
import { DEFAULT_TASK, splitBySequence } from '../core/tasks/task';
import { TraceError, type TraceSet } from '../core/trace/types';
import { dirSource, isDirectory, writeTraceSet } from './fsTrace';
import { GuardedDecoder } from './guardedDecode';
import { validatePath } from './validate';
import { LEARNED_PREDICTORS } from '../ml/config';
import { tokenlessReason } from '../ml/models/vocabulary';
import { isLearned, LEARNED_CLI_HELP, LEARNED_CLI_OPTIONS, learnedOptions, makeLearnedPredictor } from '../ml/cliLearned';
import { evaluatePredictors } from '../ml/evaluatePredictors';

const HELP = `speclab <command> [options]

  import <file-or-folder>... -o <dir> [--format auto|jsonl|hook-csv] [--model NAME]
         [--num-experts E] [--dataset NAME] [--shard-tokens N] [--allow-layer-gaps] [--json]
      Convert routing logs (JSONL per token and layer, or per-layer hook CSV) into a trace set.
  stats <dir> [--dataset NAME,...] [--json]
      Per-layer utilisation entropy and temporal reuse of a trace set.
  eval <train-dir> (--test <test-dir> | --test-fraction F) [--predictor LIST|all]
       [--context C] [--horizon H] [--seed S] [--epochs N] [--backend B] [--model-config JSON] [--json]
      Fit predictors on the training set and score them on the test set, per horizon step.
      Predictors: ${Object.keys(BASELINES).join(', ')} (baselines); all = every baseline and learned one.
${LEARNED_CLI_HELP}
  cache <dir> [--capacity C,...] [--policy lru,lfu,prefetch] [--predictor markov] [--test-fraction F]
        [--bits 8] [--bandwidth-gbs 25] [--compute-ms-per-layer 0.45] [--hidden 4096] [--ffn 14336] [--json]
      Expert-cache hit rates per policy and cache size (experts per layer), and the decode speed they imply
      when experts are offloaded (defaults: Mixtral 8x7B, 8-bit experts, RTX 3090 over PCIe 4.0 x16).
  validate <file-or-folder> [--layers L] [--top-k K] [--experts E] [--json]
      Check a trace set, a lone shard or routing logs (exit 1 with one line naming the problem).
`;

class UsageError extends Error {}

function intOption(v: string | undefined, name: string, def: number, min: number): number {
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer ≥ ${min} (got "${v}")`);
  return Number(v);
}

async function withTraceSet<T>(dir: string, fn: (set: TraceSet) => T | Promise<T>): Promise<T> {
  if (!(await isDirectory(dir))) throw new TraceError('not a folder (expected a trace set: manifest.json and shards)', resolve(dir));
  const decoder = new GuardedDecoder();
  try {
    return await fn(await readTraceSet(dirSource(dir), { decode: (b, m, w, n) => decoder.decode(b, m, w, n) }));
  } finally {
    await decoder.close();
  }
}

/** Files to import: named files as given, folders walked for files whose contents look like routing logs. */
async function collectInputs(paths: string[], format: ImportFormat): Promise<RawFile[]> {
  const out: RawFile[] = [];
  const visit = async (p: string, named: boolean, root: string) => {
    if (await isDirectory(p)) {
      const entries = (await readdir(p)).sort();
      for (const e of entries) await visit(join(p, e), false, root);
      return;
    }
    const data = await readFile(p).catch((e: NodeJS.ErrnoException) => {
      throw new TraceError(e.code === 'ENOENT' ? 'no such file or folder' : e.message, p);
    });
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Inside folders, judge by content alone: a folder may hold other JSONL (e.g. generated text) beside the logs.
    const fmt = detectFormat(named ? p : '', bytes.subarray(0, SNIFF_BYTES));
    const wanted = format === 'auto' ? fmt === 'jsonl' || fmt === 'hook-csv' : fmt === format || named;
    if (!wanted) {
      if (named) throw new TraceError(`not a routing log this importer reads (detected: ${fmt ?? 'unknown'})`, p);
      process.stderr.write(`skipping ${p}: not a routing log\n`);
      return;
    }
    // Names keep the folder relative to the argument, so hook-csv can use the parent folder as dataset name.
    out.push({ name: named ? p : join(root.split('/').filter(Boolean).pop() ?? '', relative(root, p)), data: bytes });
  };
  for (const p of paths) await visit(p, true, p);
  if (!out.length) throw new TraceError('no routing logs found', paths.join(', '));
  return out;
}

function printEvalTable(results: Record<string, PredictorResult>): string {
  const rows: string[] = [];
  const H = Object.values(results)[0]?.recallAtK.length ?? 0;
  const head = ['predictor', 'kind', ...Array.from({ length: H }, (_, h) => `recall@k l+${h + 1}`), ...Array.from({ length: H }, (_, h) => `exact l+${h + 1}`), 'top1', 'top3', 'top5'];
  rows.push(head.join('\t'));
  for (const [name, r] of Object.entries(results))
    rows.push([name, r.kind, ...r.recallAtK.map((v) => v.toFixed(4)), ...r.exact.map((v) => v.toFixed(4)), r.top1[0].toFixed(4), r.top3[0].toFixed(4), r.top5[0].toFixed(4)].join('\t'));
  return rows.join('\n') + '\n';
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP);
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
  const emit = (json: boolean | undefined, value: unknown, text: () => string) =>
    process.stdout.write(json ? JSON.stringify(value) + '\n' : text());

  switch (cmd) {
    case 'import': {
      const { values: v, positionals } = parse({
        out: { type: 'string', short: 'o' },
        format: { type: 'string', default: 'auto' },
        model: { type: 'string' },
        'num-experts': { type: 'string' },
        dataset: { type: 'string' },
        'shard-tokens': { type: 'string' },
        'allow-layer-gaps': { type: 'boolean' },
      });
      if (!positionals.length) throw new UsageError('import needs at least one file or folder');
      if (!v.out) throw new UsageError('import needs -o <dir>');
      const format = v.format as string;
      if (!['auto', 'jsonl', 'hook-csv'].includes(format)) throw new UsageError(`--format must be auto, jsonl or hook-csv (got "${format}")`);
      const files = await collectInputs(positionals, format as ImportFormat);
      const r = importFiles(files, format as ImportFormat, {
        model: v.model as string | undefined,
        numExperts: v['num-experts'] === undefined ? undefined : intOption(v['num-experts'] as string, 'num-experts', 0, 2),
        dataset: v.dataset as string | undefined,
        allowLayerGaps: v['allow-layer-gaps'] as boolean | undefined,
        description: `Imported by speclab from ${positionals.join(', ')}.`,
      });
      const m = await writeTraceSet(v.out as string, r.set, { shardTokens: intOption(v['shard-tokens'] as string | undefined, 'shard-tokens', 262_144, 1) });
      const summary = { out: resolve(v.out as string), files: files.length, records: r.records, tokens: r.tokens, droppedTokens: r.droppedTokens, sequences: r.sequences, layers: m.numLayers, experts: m.numExperts, topK: m.topK, shards: m.shards.length };
      emit(v.json as boolean, summary, () => `imported ${summary.tokens} tokens (${summary.droppedTokens} dropped) in ${summary.sequences} sequences, ${m.numLayers} layers x ${m.numExperts} experts top-${m.topK}, into ${summary.out}\n`);
      return;
    }
    case 'stats': {
      const { values: v, positionals } = parse({ dataset: { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError('stats takes one trace set folder');
      await withTraceSet(positionals[0], (set) => {
        let datasets: Set<number> | undefined;
        if (v.dataset) {
          datasets = new Set(
            (v.dataset as string).split(',').map((name) => {
              const i = set.manifest.datasets.indexOf(name);
              if (i < 0) throw new UsageError(`--dataset "${name}" is not in this trace set (it has: ${set.manifest.datasets.join(', ')})`);
              return i;
            }),
          );
        }
        const s = computeStats(set, { datasets });
        emit(v.json as boolean, s, () => {
          const lines = [`${set.manifest.model.name}: ${s.tokens} tokens (${s.droppedTokens} dropped), ${s.sequences} sequences, ${s.layers} layers x ${s.experts} experts top-${s.topK}`, 'layer\tentropy bits\treuseFirst\treuseAny'];
          s.entropyBits.forEach((h, l) => lines.push(`${set.manifest.moeLayerIds[l]}\t${h.toFixed(3)}\t${s.reuseFirst[l].toFixed(3)}\t${s.reuseAny[l].toFixed(3)}`));
          return lines.join('\n') + '\n';
        });
      });
      return;
    }
    case 'eval': {
      const { values: v, positionals } = parse({
        test: { type: 'string' },
        'test-fraction': { type: 'string' },
        predictor: { type: 'string', default: 'frequency,markov,temporal' },
        context: { type: 'string' },
        horizon: { type: 'string' },
        seed: { type: 'string' },
        ...LEARNED_CLI_OPTIONS,
      });
      if (positionals.length !== 1) throw new UsageError('eval takes one training trace set folder');
      if (!v.test === (v['test-fraction'] === undefined)) throw new UsageError('eval needs exactly one of --test <dir> or --test-fraction F');
      const task = { context: intOption(v.context as string | undefined, 'context', DEFAULT_TASK.context, 1), horizon: intOption(v.horizon as string | undefined, 'horizon', DEFAULT_TASK.horizon, 1) };
      const seed = intOption(v.seed as string | undefined, 'seed', 0, 0);
      const known = [...Object.keys(BASELINES), ...LEARNED_PREDICTORS];
      const names = (v.predictor as string) === 'all' ? known : (v.predictor as string).split(',').map((s) => s.trim());
      for (const n of names) if (!known.includes(n)) throw new UsageError(`unknown predictor "${n}" (known: ${known.join(', ')}, all)`);
      // Bad model options fail before any reading.
      if (names.some(isLearned)) {
        try {
          learnedOptions(v, seed);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      const results = await withTraceSet(positionals[0], async (first) => {
        let train = first;
        let test: TraceSet;
        if (v.test) test = await withTraceSet(v.test as string, (t) => t);
        else {
          const f = Number(v['test-fraction']);
          ({ train, test } = splitBySequence(first, f, seed));
        }
        const log = (line: string) => void process.stderr.write(line);
        // `all` leaves out what cannot run on this trace (token-aware without tokens) and says so; naming it fails.
        const tokenless = tokenlessReason(train);
        if ((v.predictor as string) === 'all' && tokenless) {
          names.splice(names.indexOf('token-aware'), 1);
          log(`token-aware: left out: ${tokenless}\n`);
        }
        const predictors = await Promise.all(
          names.map((n) => (isLearned(n) ? makeLearnedPredictor(n, train.manifest, seed, v, log).catch((e: Error) => Promise.reject(new UsageError(e.message))) : BASELINES[n](train.manifest, seed))),
        );
        try {
          return await evaluatePredictors(predictors, train, test, task);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      });
      emit(v.json as boolean, results, () => printEvalTable(results));
      return;
    }
    case 'cache': {
      const { values: v, positionals } = parse({
        capacity: { type: 'string' },
        policy: { type: 'string', default: 'lru,lfu,prefetch' },
        predictor: { type: 'string', default: 'markov' },
        'test-fraction': { type: 'string', default: '0.2' },
        seed: { type: 'string' },
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
      const rows = await withTraceSet(positionals[0], async (set) => {
        const { numLayers: L, numExperts: E, topK: K } = set.manifest;
        const caps = v.capacity ? (v.capacity as string).split(',').map((c) => intOption(c, 'capacity', 0, 1)) : Array.from({ length: E - K + 1 }, (_, i) => K + i);
        // The prefetching predictor learns on a held-out part (by sequence); every policy is scored on the rest.
        const { train, test } = splitBySequence(set, Number(v['test-fraction']), seed);
        const factory = BASELINES[v.predictor as string];
        if (!factory) throw new UsageError(`unknown predictor "${v.predictor}" (known: ${Object.keys(BASELINES).join(', ')})`);
        const predictor = factory(set.manifest, seed);
        await predictor.fit(train, { context: 1, horizon: 1 });
        const params = { ...MIXTRAL_3090, numLayers: L, topK: K, bitsPerWeight: num('bits'), bandwidthGBs: num('bandwidth-gbs'), computeMsPerLayer: num('compute-ms-per-layer'), hidden: num('hidden'), ffn: num('ffn') };
        return caps.flatMap((capacity) =>
          policies.map((policy) => {
            const r = simulateCache(test, { capacity, policy: policy as CachePolicy, predictor: policy === 'prefetch' ? predictor : undefined });
            const est = estimateOffload(params, r.hitRate, r.prefetches / Math.max(1, r.tokens));
            return { capacity, policy, hitRate: r.hitRate, prefetchesPerToken: r.prefetches / Math.max(1, r.tokens), usefulPrefetches: r.usefulPrefetches, estTokensPerSecond: est.tokensPerSecond, layerHitRate: r.layerHitRate };
          }),
        );
      });
      emit(v.json as boolean, rows, () =>
        ['capacity\tpolicy\thit rate\tprefetch/token\test. tokens/s', ...rows.map((r) => `${r.capacity}\t${r.policy}\t${r.hitRate.toFixed(4)}\t${r.prefetchesPerToken.toFixed(2)}\t${r.estTokensPerSecond.toFixed(2)}`)].join('\n') + '\n',
      );
      return;
    }
    case 'validate': {
      const { values: v, positionals } = parse({ layers: { type: 'string' }, 'top-k': { type: 'string' }, experts: { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError('validate takes one file or folder');
      const hint = (k: string) => (v[k] === undefined ? undefined : intOption(v[k] as string, k, 0, 1));
      const r = await validatePath(positionals[0], { hints: { numLayers: hint('layers'), topK: hint('top-k'), numExperts: hint('experts') } });
      emit(v.json as boolean, r, () => r.summary + '\n');
      return;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    const err = e as Error;
    // Errors about input or usage are one clear line; anything else is a bug worth its stack.
    if (err instanceof TraceError || err instanceof UsageError) process.stderr.write(`speclab: ${err.message}\n`);
    else process.stderr.write(`speclab: internal error: ${err?.stack ?? String(e)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
