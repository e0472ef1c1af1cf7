/**
 * `npm run --silent bench -- --train --device cpu|gpu --model NAME [--windows N --epochs N --batch N --hidden N
 *   --layers N --experts N --topk N --context C --horizon H --embedding D --seed S] --json`
 *
 * Trains one learned model on a synthetic trace (src/ml/testTrace.ts: strong inter-layer structure) on the fastest
 * path SpecLab has for it on that device, through the same predictor code as `speclab eval`, and prints one JSON
 * line: samplesPerSecond is the median of the epochs after the first (the first compiles shaders, fills caches).
 *
 *   gpu: WebGPU (Dawn for Node in Node, on Vulkan): InterLayer with the fused WGSL step, the other tfjs models
 *        with tfjs ops; the sequence model has no GPU path and trains on its CPU engine (path "cpu").
 *   cpu: the sequence model's CPU engine; the tfjs models on tfjs-backend-wasm (faster on CPUs than the fused step
 *        on a software WebGPU adapter, docs/benchmarks.md).
 *
 * Every option is checked before anything is built (exit 2 on bad usage, one line on stderr).
 */
import { createRng } from '../src/core/experiment/rng';
import type { TaskSpec } from '../src/core/tasks/task';
import { windowsPerToken } from '../src/core/tasks/task';
import type { TraceSet } from '../src/core/trace/types';
import { LEARNED_PREDICTORS, type LearnedPredictorName } from '../src/ml/config';
import { layerChainTrace } from '../src/ml/testTrace';

export interface TrainBenchArgs {
  device: 'cpu' | 'gpu';
  model: LearnedPredictorName;
  windows: number;
  epochs: number;
  batch: number;
  hidden: number;
  embedding: number;
  layers: number;
  experts: number;
  topk: number;
  context: number;
  horizon: number;
  seed: number;
  json: boolean;
}

export class UsageError extends Error {}

const NUMERIC = ['windows', 'epochs', 'batch', 'hidden', 'embedding', 'layers', 'experts', 'topk', 'context', 'horizon', 'seed'] as const;
const DEFAULTS: Omit<TrainBenchArgs, 'device' | 'model' | 'json'> = {
  windows: 51_200,
  epochs: 4,
  batch: 256,
  hidden: 256,
  embedding: 32,
  layers: 32,
  experts: 8,
  topk: 2,
  context: 3,
  horizon: 2,
  seed: 0,
};

export const TRAIN_USAGE =
  'usage: npm run --silent bench -- --train --device cpu|gpu --model ' +
  `${LEARNED_PREDICTORS.join('|')} [--windows N] [--epochs N (>= 2)] [--batch N] [--hidden N] [--embedding N] ` +
  '[--layers N] [--experts N] [--topk N] [--context N] [--horizon N] [--seed N] [--json]';

/** Parses the arguments after `bench` (with or without the leading --train); throws UsageError. */
export function parseTrainArgs(argv: readonly string[]): TrainBenchArgs {
  const a = argv[0] === '--train' ? argv.slice(1) : [...argv];
  const out: Partial<TrainBenchArgs> & Record<string, unknown> = { ...DEFAULTS, json: false };
  const seen = new Set<string>();
  for (let i = 0; i < a.length; i++) {
    const k = a[i];
    if (!k.startsWith('--')) throw new UsageError(`unexpected argument "${k}"\n${TRAIN_USAGE}`);
    const name = k.slice(2);
    if (seen.has(name)) throw new UsageError(`${k} given twice`);
    seen.add(name);
    if (name === 'json') {
      out.json = true;
      continue;
    }
    const v = a[++i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${k} needs a value\n${TRAIN_USAGE}`);
    if (name === 'device') {
      if (v !== 'cpu' && v !== 'gpu') throw new UsageError(`--device must be cpu or gpu (got "${v}")`);
      out.device = v;
    } else if (name === 'model') {
      if (!(LEARNED_PREDICTORS as readonly string[]).includes(v)) throw new UsageError(`--model must be one of ${LEARNED_PREDICTORS.join(', ')} (got "${v}")`);
      out.model = v as LearnedPredictorName;
    } else if ((NUMERIC as readonly string[]).includes(name)) {
      if (!/^\d+$/.test(v)) throw new UsageError(`${k} must be a whole number (got "${v}")`);
      const n = Number(v);
      if (name !== 'seed' && n < 1) throw new UsageError(`${k} must be at least 1 (got ${v})`);
      out[name] = n;
    } else throw new UsageError(`unknown option ${k}\n${TRAIN_USAGE}`);
  }
  if (!out.device) throw new UsageError(`--device is required\n${TRAIN_USAGE}`);
  if (!out.model) throw new UsageError(`--model is required\n${TRAIN_USAGE}`);
  const r = out as TrainBenchArgs;
  if (r.epochs < 2) throw new UsageError('--epochs must be at least 2 (the first epoch is not counted)');
  if (r.topk > r.experts) throw new UsageError(`--topk (${r.topk}) must not exceed --experts (${r.experts})`);
  if (r.context + r.horizon > r.layers) throw new UsageError(`--context + --horizon (${r.context + r.horizon}) must not exceed --layers (${r.layers})`);
  return r;
}

/** The fastest training path SpecLab has for `model` on `device`: the tfjs backend (null: the CPU engine) and whether the fused step runs. */
export function fastestPath(device: 'cpu' | 'gpu', model: LearnedPredictorName): { backend: 'webgpu' | 'wasm' | null; fused: boolean; note?: string } {
  if (model === 'sequence') return { backend: null, fused: false, ...(device === 'gpu' && { note: 'no GPU path for the sequence model: its CPU engine' }) };
  if (device === 'gpu') return { backend: 'webgpu', fused: model === 'interlayer' };
  return { backend: 'wasm', fused: false };
}

/** Median of the epochs after the first. */
export function steadyRate(rates: readonly number[]): number {
  const s = rates.slice(1).sort((x, y) => x - y);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The synthetic training set: about `windows` windows of the task, with token ids for the token-aware model. */
export function benchTrace(a: TrainBenchArgs): TraceSet {
  const task: TaskSpec = { context: a.context, horizon: a.horizon };
  const perToken = windowsPerToken(a.layers, task);
  const tokens = Math.ceil(a.windows / perToken);
  const set = layerChainTrace({ tokens, numLayers: a.layers, numExperts: a.experts, topK: a.topk, seqLen: 256, seed: 1 + a.seed });
  const rnd = createRng(7 + a.seed);
  for (const c of set.chunks) c.tokenId = Int32Array.from({ length: c.tokens }, () => Math.floor(rnd() * 1000));
  set.manifest.hasTokenIds = true;
  return set;
}

export interface TrainBenchResult {
  bench: 'train';
  device: 'cpu' | 'gpu';
  model: LearnedPredictorName;
  path: string;
  backend: string;
  adapter?: string;
  note?: string;
  samplesPerSecond: number;
  epochs: number[];
  windows: number;
  shape: Record<string, number>;
  seconds: number;
}

export async function runTrainBench(a: TrainBenchArgs, log: (line: string) => void = () => {}): Promise<TrainBenchResult> {
  const path = fastestPath(a.device, a.model);
  const set = benchTrace(a);
  const task: TaskSpec = { context: a.context, horizon: a.horizon };
  let adapter: string | undefined;
  let backendName = 'none';
  if (path.backend) {
    const { initBackend } = await import('../src/ml/backend');
    const r = await initBackend([path.backend]); // that backend or an error: the figure depends on it
    backendName = r.backend;
    adapter = r.adapter;
  }
  const config = {
    seed: a.seed,
    epochs: a.epochs,
    batchSize: a.batch,
    hiddenUnits: a.hidden,
    embeddingDim: a.embedding,
    context: a.context,
    horizon: a.horizon,
    valFraction: 0,
    earlyStoppingPatience: 0,
    lr: 1e-3,
    fusedTraining: path.fused,
  };
  const rates: number[] = [];
  const hooks = {
    onEpoch: (m: { epoch: number; samplesPerSecond: number; trainLoss: number }) => {
      rates.push(m.samplesPerSecond);
      log(`${a.model} epoch ${m.epoch}: ${Math.round(m.samplesPerSecond)} windows/s, loss ${m.trainLoss.toFixed(4)}\n`);
    },
  };
  const shape = set.manifest;
  // The model alone (no residual baselines: they are fitted after training and are not part of its speed).
  const { interLayerPredictor } = await import('../src/ml/interLayerPredictor');
  const { modelPredictor } = await import('../src/ml/models/modelPredictor');
  const { ensemblePredictor } = await import('../src/ml/models/ensemble');
  const { sequencePredictor } = await import('../src/ml/sequence/sequencePredictor');
  const { parseInterLayerConfig } = await import('../src/ml/config');
  const p =
    a.model === 'interlayer'
      ? interLayerPredictor(shape, { config, hooks })
      : a.model === 'ensemble'
        ? ensemblePredictor(shape, { config, hooks, log })
        : a.model === 'sequence'
          ? sequencePredictor(shape, { config: parseInterLayerConfig(config), hooks, log })
          : modelPredictor(a.model, shape, { config, hooks, log });
  const t0 = performance.now();
  await p.fit(set, task);
  const seconds = (performance.now() - t0) / 1000;
  const summary = p.training;
  p.dispose();
  return {
    bench: 'train',
    device: a.device,
    model: a.model,
    path: summary?.trainingPath ?? (path.backend ? (path.fused ? 'fused' : 'tfjs') : 'cpu'),
    backend: backendName,
    ...(adapter && { adapter }),
    ...(path.note && { note: path.note }),
    samplesPerSecond: steadyRate(rates),
    epochs: rates,
    windows: summary?.trainWindows ?? set.chunks.reduce((n, c) => n + c.tokens, 0) * windowsPerToken(a.layers, task),
    shape: { L: a.layers, E: a.experts, K: a.topk, C: a.context, H: a.horizon, batch: a.batch, hidden: a.hidden, embedding: a.embedding },
    seconds,
  };
}

/** Entry point: prints the JSON line (or a short text line without --json); exit 2 on usage, 1 on failure. */
export async function trainBenchMain(argv: readonly string[]): Promise<void> {
  let a: TrainBenchArgs;
  try {
    a = parseTrainArgs(argv);
  } catch (e) {
    process.stderr.write(`bench --train: ${(e as Error).message}\n`);
    process.exit(2);
  }
  try {
    const r = await runTrainBench(a, (l) => process.stderr.write(l));
    const text = a.json
      ? JSON.stringify(r)
      : `${r.model} on ${r.device} (${r.path}, ${r.backend}${r.adapter ? `, ${r.adapter}` : ''}): ${Math.round(r.samplesPerSecond)} samples/s`;
    await new Promise<void>((ok) => process.stdout.write(text + '\n', () => ok()));
    process.exit(0);
  } catch (e) {
    process.stderr.write(`bench --train failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}

// Run directly (the bundle of bench/cli-bundle.sh): `node bench.mjs --train ...`.
const self = typeof process !== 'undefined' ? (process.argv[1] ?? '') : '';
if (/train-bench\.(ts|mjs)$|[/\\]bench\.mjs$/.test(self)) await trainBenchMain(process.argv.slice(2));
