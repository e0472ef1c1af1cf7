/**
 * The experiment spec: ONE versioned, validated schema for everything that defines an experiment —
 * which trace set, which datasets, the speculation task, the model and its hyperparameters, the seed,
 * the backend preference and what the page shows. The URL hash (url.ts), the page state and the CLI
 * read and write this shape; nothing else declares these fields.
 *
 * The model's hyperparameters come from the model config schema (modelConfig.ts, pure zod, no tfjs); its
 * `context`, `horizon` and `seed` live once here, in `task` and `seed`, and are merged back by
 * `trainingConfigOf`.
 */
import { z } from 'zod';
import { BACKEND_NAMES, modelConfigSchema as interLayerConfigSchema, LEARNED_PREDICTORS, type ModelConfig as InterLayerConfig } from './modelConfig';
import type { TaskSpec } from '../tasks/task';
import { formatTraceRef, parseTraceRef } from './traceRef';

export const SPEC_VERSION = 1;

/** The page's views, in tab order. */
export const PANELS = ['overview', 'coactivation', 'transitions', 'reuse', 'tokens', 'training'] as const;
export type Panel = (typeof PANELS)[number];

/** `auto` tries the backends best first (webgpu, webgl, wasm, cpu); a named one is tried first, then the rest. */
export const BACKEND_PREFERENCES = ['auto', ...BACKEND_NAMES] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export const MODEL_KINDS = LEARNED_PREDICTORS;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const MAX_DATASET_FILTER = 64;
export const MAX_DATASET_NAME = 200;
/** Highest layer index a view may select; the format allows 1024 layers. */
export const MAX_LAYER_INDEX = 1023;

const traceSchema = z
  .string()
  .max(2048)
  .transform((raw, ctx) => {
    const r = parseTraceRef(raw);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return formatTraceRef(r.ref);
  });

const hyper = interLayerConfigSchema.shape;

/** InterLayer hyperparameters without the fields the task and the seed already hold. */
export const modelSchema = interLayerConfigSchema
  .omit({ context: true, horizon: true, taskKind: true, visibility: true, seed: true })
  .extend({ kind: z.enum(MODEL_KINDS).default('interlayer') })
  .strict();

export const taskSchema = z
  .object({
    /** Next layers of the token, or every layer of the next tokens (src/core/tasks/task.ts). */
    kind: hyper.taskKind,
    /** What a prediction may see: decode or prefill. */
    visibility: hyper.visibility,
    /** Context C: layers l-C+1..l of the token (next tokens: tokens t-C+1..t). Same bounds and default as the model's. */
    context: hyper.context,
    /** Horizon H: predict layers l+1..l+H. */
    horizon: hyper.horizon,
    /** Share of the sequences held out for testing every predictor (split by sequence, seeded). */
    testFraction: z.number().min(0.05).max(0.5).default(0.2),
  })
  .strict();

export const viewSchema = z
  .object({
    panel: z.enum(PANELS).default('overview'),
    /** Layer of the co-activation heatmap, and the source layer l of the l → l+1 transition heatmap. */
    layer: z.number().int().min(0).max(MAX_LAYER_INDEX).default(0),
  })
  .strict();

export const experimentSpecSchema = z
  .object({
    v: z.literal(SPEC_VERSION),
    trace: traceSchema.default('demo'),
    /** Dataset names to keep (analyses, baselines and training); empty keeps all. */
    datasets: z
      .array(z.string().min(1).max(MAX_DATASET_NAME))
      .max(MAX_DATASET_FILTER)
      .default([])
      .refine((a) => new Set(a).size === a.length, 'lists a dataset twice'),
    task: taskSchema.default(() => taskSchema.parse({})),
    model: modelSchema.default(() => modelSchema.parse({})),
    /** Seeds the train/test split, the random baseline and the model's initialisation and batches. */
    seed: hyper.seed,
    backend: z.enum(BACKEND_PREFERENCES).default('auto'),
    view: viewSchema.default(() => viewSchema.parse({})),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (typeof s.model.earlyStoppingPatience === 'number' && s.model.earlyStoppingPatience > 0 && s.model.valFraction === 0)
      ctx.addIssue({ code: 'custom', path: ['model', 'earlyStoppingPatience'], message: 'needs a validation split (model.valFraction > 0)' });
  });

export type ExperimentSpec = z.output<typeof experimentSpecSchema>;
export type ExperimentSpecInput = z.input<typeof experimentSpecSchema>;
export type ModelSpec = ExperimentSpec['model'];

export function defaultSpec(): ExperimentSpec {
  return experimentSpecSchema.parse({ v: SPEC_VERSION });
}

/** A message per problem, naming the field by its path, e.g. `task.context: Too big: expected number to be <=16`. */
export function describeSpecIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(spec)'}: ${i.message}`);
}

/** Validates any value as a spec (e.g. a CLI's JSON file). */
export function parseSpec(input: unknown): { ok: true; spec: ExperimentSpec } | { ok: false; messages: string[] } {
  const r = experimentSpecSchema.safeParse(input);
  return r.success ? { ok: true, spec: r.data } : { ok: false, messages: describeSpecIssues(r.error) };
}

export function taskOf(spec: ExperimentSpec): TaskSpec {
  return { kind: spec.task.kind, context: spec.task.context, horizon: spec.task.horizon, visibility: spec.task.visibility };
}

/** The training worker's config: the model's hyperparameters with the task and the seed merged back in. */
export function trainingConfigOf(spec: ExperimentSpec): InterLayerConfig {
  const { kind: _kind, ...hp } = spec.model;
  return { ...hp, context: spec.task.context, horizon: spec.task.horizon, taskKind: spec.task.kind, visibility: spec.task.visibility, seed: spec.seed };
}
