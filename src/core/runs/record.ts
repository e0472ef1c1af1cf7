/**
 * A kept training run: the experiment (spec, seed and trace reference included), its curves, every predictor's
 * result on the test split, and when it ran. Stored in the browser (IndexedDB) and exported / imported as a JSON
 * file; an imported file is untrusted and is read only through `parseRunFile` (zod, bounded sizes).
 */
import { z } from 'zod';
import { describeSpecIssues, experimentSpecSchema } from '../experiment/spec';
import { migrateRunResults } from './names';

export const RUN_FILE_FORMAT = 'speclab-runs';
/** 2: the learned result keyed by its model kind (version 1 kept it under "interlayer" whatever the model). */
export const RUN_FILE_VERSION = 2;
/** Versions this page reads; older ones are migrated as they are read. */
export const RUN_FILE_VERSIONS_READ: readonly number[] = [1, 2];
/** Bytes of a run file read at most (a run with its curves is a few kB to a few hundred kB). */
export const MAX_RUN_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_RUNS_PER_FILE = 1000;
export const MAX_RUN_NAME = 200;
export const MAX_RUN_NOTE = 10_000;

const num = z.number();
const perStep = z.array(num).max(64);

/** A measured value that may be NaN (a diverged loss): NaN is kept in IndexedDB and written as null in JSON. */
const measured = z.union([z.number(), z.nan()]).nullable();

/** One epoch of the training curves. Fields added to the training's metrics later are dropped, not refused. */
const epochSchema = z.object({
  epoch: z.number().int().min(0),
  step: z.number().int().min(0),
  lr: measured,
  trainLoss: measured,
  trainRecall: perStep,
  valLoss: measured,
  valRecall: perStep.nullable(),
  seconds: num.min(0),
  samplesPerSecond: measured.optional(),
});

const resultSchema = z
  .object({
    kind: z.enum(['baseline', 'learned']),
    recallAtK: perStep,
    exact: perStep,
    top1: perStep,
    top3: perStep,
    top5: perStep,
    coverage: z.array(z.array(z.object({ threshold: num, coverage: num, precision: num }).strict()).max(1024)).max(64),
    samples: z.number().int().min(0),
    modelAloneRecallAtK: perStep.optional(),
  })
  .strict();

export const runRecordSchema = z
  .object({
    id: z.string().min(1).max(100),
    name: z.string().max(MAX_RUN_NAME),
    note: z.string().max(MAX_RUN_NOTE),
    /** ms since the epoch: when the run started and when it settled. */
    createdAt: z.number().int().min(0),
    finishedAt: z.number().int().min(0).nullable(),
    status: z.enum(['done', 'stopped', 'error']),
    /** The whole experiment: trace reference (spec.trace), datasets, task, model, seed, backend. */
    spec: experimentSpecSchema,
    /** What the trace set was, as loaded: to tell a rerun on other data apart. */
    trace: z
      .object({
        model: z.string().max(500),
        tokens: z.number().int().min(0),
        layers: z.number().int().min(0),
        experts: z.number().int().min(0),
        topK: z.number().int().min(0),
      })
      .strict(),
    backend: z.string().max(40).nullable(),
    epochs: z.array(epochSchema).max(100_000),
    /** Predictor name → result on the test split: baselines by name, the learned model by its kind (spec.model.kind). */
    results: z.record(z.string().max(100), resultSchema).refine((r) => Object.keys(r).length <= 64, 'more than 64 predictors'),
    split: z
      .object({
        trainSequences: num,
        testSequences: num,
        trainTokens: num,
        testTokens: num,
        // What the split did beyond the counts (src/core/tasks/task.ts SplitSummary).
        sampledFrom: z.object({ trainTokens: num, testTokens: num }).strict().optional(),
        moved: z
          .object({ sequence: num, to: z.enum(['train', 'test']) })
          .strict()
          .optional(),
      })
      .strict()
      .nullable(),
    error: z.string().max(10_000).nullable(),
  })
  .strict();

export type RunRecord = z.output<typeof runRecordSchema>;

export const runFileSchema = z
  .object({
    format: z.literal(RUN_FILE_FORMAT),
    version: z.union([z.literal(1), z.literal(RUN_FILE_VERSION)]),
    runs: z.array(runRecordSchema).min(1).max(MAX_RUNS_PER_FILE),
  })
  .strict();

/** The file a set of runs is exported as (JSON text). */
export function runFileText(runs: readonly RunRecord[]): string {
  return JSON.stringify({ format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION, runs });
}

/** Reads an exported run file; every problem named by its path (`runs.0.spec.seed: …`). */
export function parseRunFile(text: string, fileName = 'file'): { ok: true; runs: RunRecord[] } | { ok: false; message: string } {
  if (text.length > MAX_RUN_FILE_BYTES)
    return { ok: false, message: `${fileName}: ${text.length} bytes, more than ${MAX_RUN_FILE_BYTES}; not a run file of this page` };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `${fileName}: not JSON (${e instanceof Error ? e.message : String(e)}); choose a file saved with "Export runs"` };
  }
  const head = data as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== RUN_FILE_FORMAT)
    return { ok: false, message: `${fileName}: not a SpecLab run file (no "format": "${RUN_FILE_FORMAT}"); choose a file saved with "Export runs"` };
  if (!RUN_FILE_VERSIONS_READ.includes(head.version as number))
    return {
      ok: false,
      message: `${fileName}: run file version ${JSON.stringify(head.version)} is not supported (this page reads versions ${RUN_FILE_VERSIONS_READ.join(' and ')})`,
    };
  const r = runFileSchema.safeParse(data);
  if (!r.success) {
    const lines = describeSpecIssues(r.error);
    return { ok: false, message: `${fileName}: ${lines.slice(0, 5).join('; ')}${lines.length > 5 ? `; and ${lines.length - 5} more problems` : ''}` };
  }
  // Version 1 kept every learned result under "interlayer": each moves to its run's model kind.
  return { ok: true, runs: r.data.runs.map(migrateRunResults) };
}
