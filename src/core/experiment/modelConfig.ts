/**
 * The learned models' hyperparameters: one typed, validated schema shared by the experiment spec and its link,
 * the training worker and the CLI (src/ml/config.ts re-exports it under the names the training code uses). Pure
 * zod, nothing of src/ml: core depends on no other part of the page.
 */
import { z } from 'zod';

/** tfjs backends SpecLab can train on, best first. */
export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const backendNameSchema = z.enum(BACKEND_NAMES);

/** The order to try backends in: `auto` is best first; a named backend goes first, then the rest, best first. */
export function backendOrder(preferred: BackendName | 'auto' = 'auto'): BackendName[] {
  return preferred === 'auto' ? [...BACKEND_NAMES] : [preferred, ...BACKEND_NAMES.filter((b) => b !== preferred)];
}

/** Learned predictors the CLI and the notebook can train (their code is in src/ml, loaded only when used). */
export const LEARNED_PREDICTORS = ['interlayer', 'stats-aware', 'ensemble', 'joint', 'token-aware', 'attention', 'sequence'] as const;
export type LearnedPredictorName = (typeof LEARNED_PREDICTORS)[number];

/** Learned models that predict every task (next layers and next tokens, decode and prefill); the others predict next layers in decode. */
export const EVERY_TASK_MODELS: readonly LearnedPredictorName[] = ['sequence'];

/** Why `model` cannot predict the task, or undefined. */
export function modelTaskProblem(model: LearnedPredictorName, task: { kind?: string; visibility?: string }): string | undefined {
  if (EVERY_TASK_MODELS.includes(model) || ((task.kind ?? 'layers') === 'layers' && (task.visibility ?? 'decode') === 'decode')) return undefined;
  return `${model} predicts only the next-layers task in decode (asked for next ${task.kind ?? 'layers'}, ${task.visibility ?? 'decode'}); ${EVERY_TASK_MODELS.join(', ')} predicts every task`;
}

/**
 * Training defaults. `lr`, `epochs`, `batchSize` and `earlyStoppingPatience` default to `auto`: chosen from the
 * data (src/ml/schedule.ts) under preset `auto`, or the reference design's settings (lr 1e-4, batch 16, 5 epochs,
 * no early stopping; ../shared/docs/REFERENCE-DESIGN.md) under preset `reference`. A number always wins.
 */
const DEFAULTS = {
  /** How `auto` values are chosen: from the data, or the reference design's settings. */
  preset: 'auto',
  /** Peak learning rate (AdamW). */
  lr: 'auto',
  /** 'cosine' anneals the rate from `lr` to 0 over all training steps; 'constant' keeps it. */
  lrSchedule: 'cosine',
  /** Decoupled (AdamW) weight decay on weight matrices; biases and embeddings are not decayed. */
  weightDecay: 0.01,
  /** Global-norm gradient clipping; 0 turns it off. */
  clipNorm: 1.0,
  dropout: 0.1,
  /** Context C: the token's layers l-C+1..l. */
  context: 3,
  /** Horizon H: predict the top-k sets at l+1..l+H (next layers) or of tokens t+1..t+H (next tokens), one head per step. */
  horizon: 2,
  /** The task (src/core/tasks/task.ts): next layers of the token, or every layer of the next tokens. */
  taskKind: 'layers',
  /** What a prediction may see: decode (tokens so far) or prefill (the whole prompt's identities, and more). */
  visibility: 'decode',
  batchSize: 'auto',
  embeddingDim: 32,
  /** LSTM units (the reference used more; larger is slower on CPU/WASM). */
  hiddenUnits: 64,
  /** Previous tokens whose routing at the target layers the joint, token-aware and attention models see. */
  history: 2,
  /** Token-aware model: the training split's most frequent tokens get an embedding; the rest share one. */
  vocabSize: 4096,
  /** Train on context lengths drawn from 1..C per sample (earlier layers masked), so one model serves any length. */
  dynamicContext: false,
  epochs: 'auto',
  seed: 0,
  /** One output head per (target layer, horizon step) instead of one per horizon step shared by all layers. */
  layerSpecificHeads: false,
  /** Stop after this many epochs without a better validation loss; 0 = never stop early. */
  earlyStoppingPatience: 'auto',
  /** Share of the training sequences held out for validation (split by sequence); 0 = no validation. */
  valFraction: 0.1,
  /** On the WebGPU backend, train with the fused WGSL step (src/ml/fused) instead of tfjs ops; same math. */
  fusedTraining: true,
} as const satisfies Record<string, number | string | boolean>;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const num = (min: number, max: number) => z.number().min(min).max(max);
/** A number, or 'auto': chosen from the data (or by the reference preset). */
const orAuto = <T extends z.ZodNumber>(n: T) => z.union([z.literal('auto'), n]);
export const PRESETS = ['auto', 'reference'] as const;

/**
 * Every field has its default, so `modelConfigSchema.parse({})` is the default config and a URL only needs
 * the values that differ. Unknown keys are rejected (strict), never silently dropped.
 */
export const modelConfigSchema = z
  .object({
    preset: z.enum(PRESETS).default(DEFAULTS.preset),
    lr: orAuto(num(1e-7, 1)).default(DEFAULTS.lr),
    lrSchedule: z.enum(['cosine', 'constant']).default(DEFAULTS.lrSchedule),
    weightDecay: num(0, 1).default(DEFAULTS.weightDecay),
    clipNorm: num(0, 1000).default(DEFAULTS.clipNorm),
    dropout: num(0, 0.9).default(DEFAULTS.dropout),
    context: int(1, 16).default(DEFAULTS.context),
    horizon: int(1, 8).default(DEFAULTS.horizon),
    taskKind: z.enum(['layers', 'tokens']).default(DEFAULTS.taskKind),
    visibility: z.enum(['decode', 'prefill']).default(DEFAULTS.visibility),
    batchSize: orAuto(int(1, 4096)).default(DEFAULTS.batchSize),
    embeddingDim: int(1, 1024).default(DEFAULTS.embeddingDim),
    hiddenUnits: int(1, 2048).default(DEFAULTS.hiddenUnits),
    history: int(0, 16).default(DEFAULTS.history),
    vocabSize: int(2, 1 << 20).default(DEFAULTS.vocabSize),
    dynamicContext: z.boolean().default(DEFAULTS.dynamicContext),
    epochs: orAuto(int(1, 1000)).default(DEFAULTS.epochs),
    seed: int(0, 0xffffffff).default(DEFAULTS.seed),
    layerSpecificHeads: z.boolean().default(DEFAULTS.layerSpecificHeads),
    earlyStoppingPatience: orAuto(int(0, 1000)).default(DEFAULTS.earlyStoppingPatience),
    valFraction: num(0, 0.5).default(DEFAULTS.valFraction),
    fusedTraining: z.boolean().default(DEFAULTS.fusedTraining),
  })
  .strict();

export type ModelConfig = z.output<typeof modelConfigSchema>;

/** The defaults as a full config (preset auto: lr, epochs, batch and patience from the data; wd 0.01, clip 1.0, dropout 0.1, C 3, H 2, ...). */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze(modelConfigSchema.parse({}));
/** What a URL or a form may give: any subset of the fields. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

/**
 * Parses and checks a config, including the rules that involve two fields (kept out of the schema so it stays a
 * plain object schema that callers can nest or extend). Throws an Error listing every problem.
 */
export function parseModelConfig(input: unknown): ModelConfig {
  const r = modelConfigSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid InterLayer config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const c = r.data;
  if (typeof c.earlyStoppingPatience === 'number' && c.earlyStoppingPatience > 0 && c.valFraction === 0)
    throw new Error('invalid InterLayer config: earlyStoppingPatience needs a validation split (valFraction > 0)');
  return c;
}
