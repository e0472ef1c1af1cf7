/**
 * Every learned model carries the baselines' signal: its scores are combined with the Markov and temporal
 * baselines' log-probabilities as residual logits,
 *   score = a·logsoftmax(model) + b·log p_markov + c·[expert used by the previous token] + ε·log p_frequency,
 * with (a, b, c) per horizon step chosen on the validation split (the same sequences the model held out while
 * training; never the test split). The choices include the baselines alone (a = 0), so on validation the result
 * is never below Markov, temporal or their mix; on data where the model is better, the model dominates.
 */
import { frequencyPredictor, lastRoutedAtTarget, markovPredictor, temporalPredictor } from '../core/predictors/baselines';
import { forEachWindow, indexTokens } from '../core/predictors/window';
import { lookaheadPredictor, lookaheadProblem, type PreparedPredictor } from '../core/predictors/lookahead';
import type { PredictionContext, Predictor } from '../core/predictors/types';
import { keptRuns, taskKind, type TaskSpec } from '../core/tasks/task';
import type { TraceChunk, TraceSet, TraceShape } from '../core/trace/types';
import type { LearnedPredictor } from './interLayerPredictor';
import type { TrainingHooks } from './trainingSession';
import { topKHits } from './sequence/net';
import { validationSplit } from './windows';

export interface BlendWeights {
  model: number;
  markov: number;
  temporal: number;
  /** The lookahead gate's log-probabilities (traces with lookahead_logits, next-layers task); absent: 0. */
  gate?: number;
}

export interface BlendReport {
  /** Per horizon step: the weights chosen and the validation recall@k of the blend and of the model alone. */
  steps: { weights: BlendWeights; recall: number; modelRecall: number; markovRecall: number }[];
  /** Validation windows the weights were chosen on. */
  windows: number;
}

/** Validation tokens used to choose the weights (a seeded sample of the held-out sequences' tokens). */
export const MAX_BLEND_TOKENS = 1500;
const TIE = 1e-3;

const GRID: BlendWeights[] = (() => {
  const g: BlendWeights[] = [];
  for (const markov of [0, 0.25, 0.5, 1, 2]) for (const temporal of [0, 0.25, 0.5, 1, 2]) g.push({ model: 1, markov, temporal });
  for (const [markov, temporal] of [
    [1, 0],
    [0, 1],
    [1, 0.25],
    [1, 0.5],
    [1, 1],
    [1, 2],
  ])
    g.push({ model: 0, markov, temporal });
  return g;
})();

/** The grid with the lookahead gate's weights too: the gate alone, and the gate added to each entry. */
const GATE_GRID: BlendWeights[] = (() => {
  const g: BlendWeights[] = [];
  for (const gate of [0, 0.5, 1, 2]) for (const w of GRID) g.push({ ...w, gate });
  g.push({ model: 0, markov: 0, temporal: 0, gate: 1 });
  return g;
})();

function gridOf(withGate: boolean): BlendWeights[] {
  return withGate ? GATE_GRID : GRID;
}

function logSoftmax(s: ArrayLike<number>, out: Float32Array, off: number, E: number): void {
  let max = -Infinity;
  for (let e = 0; e < E; e++) if (s[e] > max) max = s[e];
  let sum = 0;
  for (let e = 0; e < E; e++) sum += Math.exp(s[e] - max);
  const lse = max + Math.log(sum);
  for (let e = 0; e < E; e++) out[off + e] = s[e] - lse;
}

/** Log of scores that are counts (plus a tie-break below 1), smoothed. */
function logCounts(s: ArrayLike<number>, out: Float32Array, off: number, E: number): void {
  let sum = 0;
  for (let e = 0; e < E; e++) sum += s[e];
  const z = sum + 0.5 * E;
  for (let e = 0; e < E; e++) out[off + e] = Math.log((s[e] + 0.5) / z);
}

function subset(set: TraceSet, keep: (ci: number, t: number) => boolean): TraceSet {
  const chunks: TraceChunk[] = [];
  set.chunks.forEach((c, ci) => keptRuns(c, set.manifest, (t) => keep(ci, t), chunks));
  return { manifest: set.manifest, chunks };
}

/**
 * The training split's two parts for choosing on validation: what the models trained on (`fitPart`) and the
 * held-out sequences, cut to whole chunks in order up to MAX_BLEND_TOKENS (`valPart`); null without a validation
 * split. The blend's weights and `eval`'s choice of predictor are both made on these windows.
 */
export function validationParts(train: TraceSet, valFraction: number, seed: number): { fitPart: TraceSet; valPart: TraceSet } | null {
  const split = validationSplit(train, valFraction, seed);
  if (!split.val) return null;
  const chunks: TraceChunk[] = [];
  let n = 0;
  for (const c of subset(train, split.val).chunks) {
    if (n >= MAX_BLEND_TOKENS) break;
    chunks.push(c);
    n += c.tokens;
  }
  return { fitPart: subset(train, split.train), valPart: { manifest: train.manifest, chunks } };
}

/** Residual parts per (window, target): markov, temporal, frequency, lookahead gate; E values each. */
const PARTS = 4;

/** The baselines' parts, fitted on one set; the lookahead gate prepared on the set being scored, where it has one. */
class Parts {
  readonly markov: Predictor;
  readonly temporal: Predictor;
  readonly frequency: Predictor;
  private readonly gate: PreparedPredictor;
  gateReady = false;
  constructor(shape: TraceShape, seed: number) {
    this.markov = markovPredictor(shape, seed);
    this.temporal = temporalPredictor(shape, seed);
    this.frequency = frequencyPredictor(shape, seed);
    this.gate = lookaheadPredictor(shape);
  }
  fit(train: TraceSet, task: TaskSpec): void {
    this.markov.fit(train, task);
    this.frequency.fit(train, task);
    this.temporal.fit(train, task);
  }
  /** Prepares the gate on the set to be scored; false (and no gate part) where the set or task has none. */
  prepareGate(set: TraceSet, task: TaskSpec): boolean {
    this.gateReady = !lookaheadProblem(set, task);
    if (this.gateReady) this.gate.prepare(set, task);
    return this.gateReady;
  }
  scoreGate(ctx: PredictionContext, target: number, out: Float64Array): void {
    this.gate.score(ctx, target, out);
  }
}

/**
 * Writes the residual parts of (ctx, target) into parts[0..4E): markov log-prob, temporal indicator, log
 * frequency, and the lookahead gate's log-softmax (zeros without a gate).
 */
function baselineParts(p: Parts, ctx: PredictionContext, target: number, tmp: Float64Array, parts: Float32Array, E: number, K: number): void {
  p.markov.score(ctx, target, tmp);
  logCounts(tmp, parts, 0, E);
  for (let e = 0; e < E; e++) parts[E + e] = 0;
  const last = lastRoutedAtTarget(ctx, target, K);
  if (last) for (let j = 0; j < K; j++) parts[E + last[j]] = 1;
  p.frequency.score(ctx, target, tmp);
  for (let e = 0; e < E; e++) parts[2 * E + e] = Math.log(tmp[e] + 1e-3);
  if (p.gateReady) {
    p.scoreGate(ctx, target, tmp);
    logSoftmax(tmp, parts, 3 * E, E);
  } else parts.fill(0, 3 * E, 4 * E);
}

function combine(w: BlendWeights, model: Float32Array, mo: number, parts: Float32Array, po: number, out: Float32Array | Float64Array, E: number): void {
  const g = w.gate ?? 0;
  for (let e = 0; e < E; e++)
    out[e] = w.model * model[mo + e] + w.markov * parts[po + e] + w.temporal * parts[po + E + e] + TIE * parts[po + 2 * E + e] + g * parts[po + 3 * E + e];
}

/** Wraps a learned predictor so that its scores carry the baselines' (see the file comment). */
export function withBaselines(
  inner: LearnedPredictor,
  shape: TraceShape,
  config: { valFraction: number; seed: number },
  log?: (line: string) => void,
): LearnedPredictor & { readonly blend: BlendReport | null } {
  const { numExperts: E, topK: K } = shape;
  let parts = new Parts(shape, config.seed);
  let weights: BlendWeights[] | null = null;
  let report: BlendReport | null = null;
  let train: TraceSet | null = null;
  let task: TaskSpec | null = null;
  const tmp = new Float64Array(E);
  const modelBuf = new Float32Array(E);
  const partBuf = new Float32Array(PARTS * E);

  async function chooseWeights(): Promise<void> {
    if (!train || !task || inner.session?.state !== 'done') return;
    const H = task.horizon;
    weights = Array.from({ length: H }, () => ({ model: 1, markov: 0, temporal: 0 }));
    const vp = validationParts(train, config.valFraction, config.seed);
    if (!vp) {
      report = null;
      parts.fit(train, task);
      return;
    }
    // The baselines see only what the model trained on while the weights are chosen.
    const { fitPart, valPart } = vp;
    parts = new Parts(shape, config.seed);
    parts.fit(fitPart, task);
    const withGate = parts.prepareGate(valPart, task);
    await inner.prepare(valPart, task);
    const rows: { model: Float32Array; parts: Float32Array }[] = [];
    // Every (window, target) of the validation part, per step: the model's log-probabilities, the baselines'
    // parts and the truth, walked like scoring walks the test set (same windows, same visibility).
    const k = task;
    const ix = indexTokens(valPart);
    let count = 0;
    forEachWindow(
      valPart,
      k,
      (_ctx, _target, step) => {
        if (step === 0) count++;
      },
      ix,
    );
    for (let h = 0; h < H; h++) rows.push({ model: new Float32Array(count * E), parts: new Float32Array(count * PARTS * E) });
    const filled = new Int32Array(H);
    const truth = Array.from({ length: H }, () => new Int16Array(count * K));
    forEachWindow(
      valPart,
      k,
      (ctx, target, h, tr, off) => {
        const i = filled[h]++;
        inner.score(ctx, target, tmp);
        logSoftmax(tmp, rows[h].model, i * E, E);
        baselineParts(parts, ctx, target, tmp, partBuf, E, K);
        rows[h].parts.set(partBuf, i * PARTS * E);
        truth[h].set(tr.subarray(off, off + K), i * K);
      },
      ix,
    );
    const steps: BlendReport['steps'] = [];
    const out = new Float32Array(E);
    // Evaluate every weight choice per step.
    for (let h = 0; h < H; h++) {
      const tr = truth[h];
      const recall = (w: BlendWeights) => {
        let s = 0;
        for (let n = 0; n < count; n++) {
          combine(w, rows[h].model, n * E, rows[h].parts, n * PARTS * E, out, E);
          s += topKHits(out, tr, n * K, K) / K;
        }
        return count ? s / count : 0;
      };
      const grid = gridOf(withGate);
      let best = grid[0];
      let bestRecall = -1;
      for (const w of grid) {
        const r = recall(w);
        if (r > bestRecall + 1e-9) {
          bestRecall = r;
          best = w;
        }
      }
      weights[h] = best;
      steps.push({
        weights: best,
        recall: bestRecall,
        modelRecall: recall({ model: 1, markov: 0, temporal: 0 }),
        markovRecall: recall({ model: 0, markov: 1, temporal: 0 }),
      });
    }
    report = { steps, windows: count };
    log?.(
      `${inner.name}: residual baselines chosen on ${count} validation windows: ` +
        steps
          .map(
            (s, h) =>
              `${taskKind(k) === 'tokens' ? 't' : 'l'}+${h + 1} model ${s.weights.model}, markov ${s.weights.markov}, temporal ${s.weights.temporal}${withGate ? `, lookahead gate ${s.weights.gate ?? 0}` : ''} (recall@k ${s.recall.toFixed(3)}; model alone ${s.modelRecall.toFixed(3)}, markov ${s.markovRecall.toFixed(3)})`,
          )
          .join('; ') +
        '\n',
    );
    // Scoring uses baselines fitted on the whole training split, like the baselines' own rows.
    parts = new Parts(shape, config.seed);
    parts.fit(train, task);
  }

  const wrapped = {
    get name() {
      return inner.name;
    },
    kind: 'learned' as const,
    get training() {
      return inner.training;
    },
    get session() {
      return inner.session;
    },
    get blend() {
      return report;
    },
    /** The model without the residual baselines. */
    get inner() {
      return inner;
    },
    async fit(t: TraceSet, k: TaskSpec) {
      train = t;
      task = k;
      weights = null;
      report = null;
      await inner.fit(t, k);
      await chooseWeights();
    },
    async resume(hooks?: TrainingHooks) {
      if (inner.resume) await inner.resume(hooks);
      else await inner.session?.run(hooks);
      await chooseWeights();
    },
    /** The model's export (without the residual baselines, whose weights eval reports under `blend`). */
    async exportModel(sample?: Parameters<NonNullable<LearnedPredictor['exportModel']>>[0]) {
      if (!inner.exportModel) throw new Error(`${inner.name}: this model cannot export`);
      return inner.exportModel(sample);
    },
    async prepare(test: TraceSet, k: TaskSpec) {
      if (!weights && train && task) {
        // A stopped run is scored as the model alone.
        weights = Array.from({ length: k.horizon }, () => ({ model: 1, markov: 0, temporal: 0 }));
      }
      // The gate's part comes from the set being scored; a set without one scores the blend without it.
      if (!parts.prepareGate(test, k) && weights?.some((w) => (w.gate ?? 0) > 0)) {
        log?.(`${inner.name}: the scored set has no lookahead gate; the blend goes on without its part\n`);
        weights = weights.map((w) => ({ ...w, gate: 0 }));
      }
      await inner.prepare(test, k);
    },
    score(ctx: PredictionContext, target: number, out: Float64Array) {
      inner.score(ctx, target, tmp);
      const w = weights?.[ctx.ahead > 0 ? ctx.ahead - 1 : target - ctx.layer - 1];
      if (!w || (w.markov === 0 && w.temporal === 0 && w.model === 1)) {
        for (let e = 0; e < E; e++) out[e] = tmp[e];
        return;
      }
      logSoftmax(tmp, modelBuf, 0, E);
      baselineParts(parts, ctx, target, tmp, partBuf, E, K);
      combine(w, modelBuf, 0, partBuf, 0, out, E);
    },
    dispose() {
      inner.dispose();
    },
  };
  return wrapped;
}
