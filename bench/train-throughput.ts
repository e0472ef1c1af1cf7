/**
 * InterLayer training throughput on the tfjs WebGPU backend: the stock tfjs path (ops + autodiff) against the
 * fused WGSL step, both through TrainingSession as the notebook and the CLI run it. Prints one JSON object
 * (samples/s per path, the epochs measured, the adapter); bench/train_throughput_torch.py runs the same model in
 * PyTorch and prints the ratios.
 *
 *   npx tsx bench/train-throughput.ts [--windows 51200] [--batch 256] [--hidden 256] [--embedding 32]
 *       [--context 3] [--horizon 2] [--experts 8] [--layers 32] [--topk 2] [--epochs 4] [--paths tfjs,fused] [--check 1]
 *
 * The first epoch of each path compiles its shaders and is not counted: the figure is the median of the later
 * epochs, each timed by TrainingSession (wall time of the epoch, its end-of-epoch read included).
 */
import { initBackend } from '../src/ml/backend';
import { fusedEquivalence } from '../src/ml/fused/equivalence';
import { layerChainTrace } from '../src/ml/testTrace';
import { TrainingSession } from '../src/ml/trainingSession';

function args(): Record<string, string> {
  const out: Record<string, string> = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    if (!a[i].startsWith('--') || a[i + 1] === undefined) throw new Error(`usage: --name value pairs; got "${a[i]}"`);
    out[a[i].slice(2)] = a[i + 1];
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const a = args();
  const num = (k: string, d: number) => {
    const v = a[k] === undefined ? d : Number(a[k]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number, got "${a[k]}"`);
    return v;
  };
  const L = num('layers', 32);
  const E = num('experts', 8);
  const K = num('topk', 2);
  const C = num('context', 3);
  const H = num('horizon', 2);
  const windows = num('windows', 256 * 200);
  const epochs = num('epochs', 4);
  const paths = (a.paths ?? 'tfjs,fused').split(',');
  const perToken = L - C - H + 1;
  const tokens = Math.ceil(windows / perToken);
  const set = layerChainTrace({ tokens, numLayers: L, numExperts: E, topK: K, seqLen: 256, seed: 1 });
  const backend = await initBackend(['webgpu']);
  // --check 1: first compare the fused step with the tfjs path on this adapter (small shapes; see equivalence.ts).
  let check: Awaited<ReturnType<typeof fusedEquivalence>> | null = null;
  if (a.check === '1') {
    check = await fusedEquivalence();
    const worst = Math.max(
      ...check.gradients.flatMap((g) => Object.values(g.errors)),
      ...check.training.flatMap((t) => [...Object.values(t.weights), t.trainLoss, t.valLoss]),
    );
    console.error(`fused vs tfjs on ${backend.adapter}: largest relative error ${worst.toExponential(2)}`);
  }
  const config = {
    batchSize: num('batch', 256),
    hiddenUnits: num('hidden', 256),
    embeddingDim: num('embedding', 32),
    context: C,
    horizon: H,
    epochs,
    valFraction: 0,
    lr: 1e-3,
  };
  const results: Record<string, { samplesPerSecond: number; epochs: number[]; firstEpoch: number; trainLoss: number[]; path: string }> = {};
  for (const p of paths) {
    if (p !== 'tfjs' && p !== 'fused') throw new Error(`--paths: unknown path "${p}" (tfjs, fused)`);
    const s = new TrainingSession(set, { ...config, fusedTraining: p === 'fused' });
    const summary = await s.run();
    if (s.fusedFallback) throw new Error(s.fusedFallback);
    const rates = summary.history.map((m) => m.samplesPerSecond);
    results[p] = {
      path: s.trainingPath,
      samplesPerSecond: median(rates.slice(1)),
      firstEpoch: rates[0],
      epochs: rates,
      trainLoss: summary.history.map((m) => m.trainLoss),
    };
    s.dispose();
    console.error(
      `${p}: ${results[p].samplesPerSecond.toFixed(0)} samples/s (epochs ${rates.map((r) => r.toFixed(0)).join(', ')}; loss ${results[p].trainLoss.map((x) => x.toFixed(4)).join(', ')})`,
    );
  }
  const out = {
    adapter: backend.adapter ?? backend.backend,
    windows: set.chunks.reduce((n, c) => n + c.tokens, 0) * perToken,
    shape: { L, E, K, C, H, batch: config.batchSize, hidden: config.hiddenUnits, embedding: config.embeddingDim },
    results,
    check,
    fusedOverTfjs: results.fused && results.tfjs ? results.fused.samplesPerSecond / results.tfjs.samplesPerSecond : null,
  };
  console.log(JSON.stringify(out));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
