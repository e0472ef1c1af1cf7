/**
 * `speclab eval` options for learned predictors. tfjs is imported only when a learned predictor is asked for,
 * so the other commands start as fast as before.
 */
import type { TraceShape } from '../core/trace/types';
import type { BackendReport } from './backend';
import { BACKEND_NAMES, LEARNED_PREDICTORS, parseInterLayerConfig, type BackendName, type InterLayerConfig, type LearnedPredictorName } from './config';
import { chooseOnValidation, trainingReport, type AnyPredictor } from './evaluatePredictors';
import { makeBaseline } from '../core/predictors/registry';
import { scorePredictor } from '../core/predictors/evaluate';
import type { TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';
import type { TrainingSummary } from './trainingSession';
import type { BlendReport } from './blend';
import type { LearnedPredictor } from './interLayerPredictor';
import { reportCostAndExport } from './learnedReport';

export const LEARNED_CLI_OPTIONS = {
  epochs: { type: 'string' },
  backend: { type: 'string' },
  'model-config': { type: 'string' },
  export: { type: 'string' },
} as const;

export const LEARNED_CLI_HELP = `      Learned: ${LEARNED_PREDICTORS.join(', ')} (trained with tfjs; [--epochs N] [--backend ${BACKEND_NAMES.filter((b) => b !== 'webgl').join('|')}]
        [--model-config JSON] with any hyperparameter of src/ml/config.ts, e.g. '{"lr":0.001,"hiddenUnits":128}').
        Without --backend: webgpu (Dawn, where a GPU exists), else wasm, else cpu. Progress goes to stderr.
        --export DIR writes each learned model as DIR/<name>.safetensors, <name>.json and <name>.cases.json
        (reference cases from the test split), loaded in PyTorch by collector/speclab_collect/predictor.py.
        --json reports per learned predictor its cost: parameters, bytes, inference ms per token (median of timed
        batches on its backend) and the traced model's layer time it must hide behind.`;

export function isLearned(name: string): name is LearnedPredictorName {
  return (LEARNED_PREDICTORS as readonly string[]).includes(name);
}

let backend: Promise<BackendReport> | null = null;
/** The learned models built in this process by name (without their residual baselines), for the ensemble to reuse. */
const built = new Map<string, LearnedPredictor>();

/**
 * Builds a learned predictor from the CLI's options (seed from --seed, context and horizon from the task at fit
 * time). Throws a plain Error for bad options or a backend that cannot start; the caller reports it as usage.
 */
/** The model config and backend that the CLI options ask for; throws a plain Error (usage) when they are bad. */
export function learnedOptions(values: Record<string, string | boolean | undefined>, seed: number): { config: InterLayerConfig; backend?: BackendName } {
  let extra: unknown = {};
  if (typeof values['model-config'] === 'string') {
    try {
      extra = JSON.parse(values['model-config']);
    } catch (e) {
      throw new Error(`--model-config is not JSON: ${(e as Error).message}`);
    }
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new Error('--model-config must be a JSON object');
  }
  const epochs = values.epochs;
  if (epochs !== undefined && !/^\d+$/.test(String(epochs))) throw new Error(`--epochs must be a positive integer (got "${epochs}")`);
  const config = parseInterLayerConfig({ ...(extra as object), seed, ...(epochs !== undefined && { epochs: Number(epochs) }) });
  const wanted = values.backend as string | undefined;
  if (wanted !== undefined && !(BACKEND_NAMES as readonly string[]).includes(wanted))
    throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')} (got "${wanted}")`);
  return { config, ...(wanted && { backend: wanted as BackendName }) };
}

export async function makeLearnedPredictor(
  name: LearnedPredictorName | (string & {}),
  shape: TraceShape,
  seed: number,
  values: Record<string, string | boolean | undefined>,
  log: (line: string) => void,
): Promise<AnyPredictor> {
  const { config, backend: wanted } = learnedOptions(values, seed);
  const { initBackend, describeBackend } = await import('./backend');
  // The sequence model trains on its own CPU engine: no tfjs backend to start for it.
  if (!backend && name !== 'sequence') {
    // An explicit --backend is that backend or an error, never a silent fallback (timings and numbers depend on it).
    backend = initBackend(wanted ? [wanted] : ['webgpu', 'wasm', 'cpu']);
    backend.then((r) => log(`${name}: tfjs backend ${describeBackend(r)}\n`)).catch(() => {});
  }
  if (backend) await backend;
  const { learnedFactory } = await import('./learnedPredictor');
  const make = learnedFactory(name);
  if (!make) throw new Error(`unknown learned predictor "${name}" (known: ${LEARNED_PREDICTORS.join(', ')})`);
  const made = make(shape, seed, {
    config,
    log,
    // The ensemble reuses InterLayer and stats-aware when this run trains them on their own (built first).
    reuse: name === 'ensemble' ? { interlayer: built.get('interlayer'), 'stats-aware': built.get('stats-aware') } : undefined,
    hooks: {
      onEpoch: (m) =>
        log(
          `${name} epoch ${m.epoch}${config.epochs === 'auto' ? '' : `/${config.epochs}`}: train loss ${m.trainLoss.toFixed(4)} recall@k ${m.trainRecall.map((r) => r.toFixed(3)).join('/')}` +
            (m.valLoss === null ? '' : `, val loss ${m.valLoss.toFixed(4)} recall@k ${m.valRecall!.map((r) => r.toFixed(3)).join('/')}`) +
            ` (${m.seconds.toFixed(1)} s, ${Math.round(m.samplesPerSecond)} windows/s)\n`,
        ),
    },
  });
  const inner = (made as LearnedPredictor & { inner?: LearnedPredictor }).inner;
  if (inner) built.set(name, inner);
  return made;
}

/**
 * Adds to `eval`'s results, per learned predictor, how it trained (`training`), its residual blend (`blend`) and
 * the model's own test recall without the residual baselines (`modelAloneRecallAtK`),
 * and marks the predictor chosen on the validation split (`chosen: true`; every candidate gets its
 * `validationRecallAtK`). Never looks at the test split.
 */
export async function describeLearned(
  predictors: AnyPredictor[],
  results: Record<string, Record<string, unknown>>,
  train: TraceSet,
  test: TraceSet,
  task: TaskSpec,
  values: Record<string, string | boolean | undefined>,
  seed: number,
  log: (line: string) => void,
): Promise<void> {
  const learned = predictors.filter((p) => p.kind === 'learned') as (AnyPredictor & { training?: TrainingSummary | null; blend?: BlendReport | null })[];
  if (!learned.length) return;
  const { config } = learnedOptions(values, seed);
  const { describeBackend } = await import('./backend');
  const backendText = backend ? describeBackend(await backend) : 'none';
  for (const p of learned) {
    if (p.training) results[p.name].training = trainingReport(p.training, backendText);
    if (p.blend) results[p.name].blend = p.blend;
    // The model without its residual baselines, on the same test windows (prepared by the wrapper's prepare).
    const inner = (p as { inner?: LearnedPredictor }).inner;
    if (inner) results[p.name].modelAloneRecallAtK = scorePredictor(inner, test, task).recallAtK;
  }
  const baselines = predictors.filter((p) => p.kind === 'baseline').map((p) => makeBaseline(p.name, train.manifest, seed));
  const chosen = await chooseOnValidation(
    baselines,
    learned.map((p) => ({ name: p.name, recall: p.blend ? p.blend.steps.map((s) => s.recall) : null })),
    train,
    task,
    config.valFraction,
    seed,
  );
  if (chosen) {
    for (const [name, r] of Object.entries(chosen.candidates)) if (results[name]) results[name].validationRecallAtK = r;
    results[chosen.name].chosen = true;
    log(`chosen on validation: ${chosen.name} (recall@k ${chosen.recallAtK.map((r) => r.toFixed(3)).join('/')})\n`);
  }
  // Last: timing prepares each predictor on a few test tokens (every score above is already taken).
  const tfBackend = backend ? (await backend).backend : 'none';
  await reportCostAndExport(learned, results, train, test, task, {
    config,
    tfBackend,
    exportDir: typeof values.export === 'string' ? values.export : undefined,
    log,
  });
}
