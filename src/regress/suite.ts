/**
 * Regression suites: named experiments (an experiment spec or URL hash) with the metrics to check and their
 * tolerances; baselines stored beside the suite. Pure: the runner (run.ts) opens the pages.
 */
import { z } from 'zod';
import { parseSpec, type ExperimentSpec } from '../core/experiment/spec';
import { decodeSpecHash, encodeSpecHash } from '../core/experiment/url';

const metricName = z.string().regex(/^[A-Za-z0-9_.-]{1,120}$/, 'a metric name like "interlayer.recallAtK.0"');

export const suiteSchema = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    experiments: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, ".", "_", "-"'),
            /** An experiment spec (partial: defaults fill the rest) or, instead, a URL hash. */
            spec: z.record(z.string(), z.unknown()).optional(),
            hash: z.string().max(8192).optional(),
            /**
             * Raw routing logs (JSONL or hook CSV: a file or folder, relative to the suite file) to import before the
             * run; the experiment then uses that trace set, served by the app at /traces/_regress/<name>.
             */
            importTrace: z.string().max(1000).optional(),
            /** Metric name → allowed absolute difference from the baseline. */
            metrics: z.record(metricName, z.number().min(0).max(1e6)),
          })
          .strict()
          .refine((e) => (e.spec === undefined) !== (e.hash === undefined), 'give exactly one of "spec" or "hash"'),
      )
      .min(1)
      .max(500),
  })
  .strict();

export type Suite = z.output<typeof suiteSchema>;
export type SuiteExperiment = Suite['experiments'][number];

export const baselineSchema = z
  .object({
    suite: z.string(),
    /** Backend the baselines were measured on: tolerances across backends are wider (docs/regression.md). */
    backend: z.string().optional(),
    updated: z.string().optional(),
    experiments: z.record(z.string(), z.record(z.string(), z.number())),
  })
  .strict();

export type Baselines = z.output<typeof baselineSchema>;

export function parseSuite(text: string, where: string): Suite {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const r = suiteSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${where}: ${i.path.map(String).join('.') || '(suite)'}: ${i.message}`);
  }
  const names = new Set<string>();
  for (const e of r.data.experiments) {
    if (names.has(e.name)) throw new Error(`${where}: experiment "${e.name}" is listed twice`);
    names.add(e.name);
  }
  return r.data;
}

/** The experiment's spec, validated through the one experiment schema, and its URL hash. */
export function resolveExperiment(e: SuiteExperiment, where: string): { spec: ExperimentSpec; hash: string } {
  if (e.hash !== undefined) {
    const d = decodeSpecHash(e.hash);
    if (d.messages.length) throw new Error(`${where}: experiment "${e.name}": ${d.messages.join('; ')}`);
    return { spec: d.spec, hash: encodeSpecHash(d.spec) };
  }
  const r = parseSpec({ v: 1, ...e.spec });
  if (!r.ok) throw new Error(`${where}: experiment "${e.name}": ${r.messages.join('; ')}`);
  return { spec: r.spec, hash: encodeSpecHash(r.spec) };
}

export type Verdict = 'pass' | 'regressed' | 'no-baseline' | 'missing';

export interface MetricCheck {
  metric: string;
  value: number | null;
  baseline: number | null;
  tolerance: number;
  difference: number | null;
  verdict: Verdict;
}

/** Compares one experiment's measured metrics with its baselines. */
export function checkMetrics(wanted: Record<string, number>, measured: Record<string, number>, baseline: Record<string, number> | undefined): MetricCheck[] {
  return Object.entries(wanted).map(([metric, tolerance]) => {
    const value = Object.hasOwn(measured, metric) && Number.isFinite(measured[metric]) ? measured[metric] : null;
    const base = baseline && Object.hasOwn(baseline, metric) ? baseline[metric] : null;
    if (value === null) return { metric, value, baseline: base, tolerance, difference: null, verdict: 'missing' };
    if (base === null) return { metric, value, baseline: base, tolerance, difference: null, verdict: 'no-baseline' };
    const difference = value - base;
    // A small epsilon absorbs the last-bit noise of printing and reparsing doubles.
    return { metric, value, baseline: base, tolerance, difference, verdict: Math.abs(difference) <= tolerance + 1e-12 ? 'pass' : 'regressed' };
  });
}

/** Flattens `{predictor: {recallAtK: [a, b], samples: n}}` into `predictor.recallAtK.0 = a`, …. */
export function flattenMetrics(results: Record<string, Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [p, r] of Object.entries(results))
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number') out[`${p}.${k}`] = v;
      else if (Array.isArray(v)) v.forEach((x, i) => typeof x === 'number' && (out[`${p}.${k}.${i}`] = x));
    }
  return out;
}

export function describeCheck(experiment: string, c: MetricCheck): string {
  switch (c.verdict) {
    case 'pass':
      return `${experiment}: ${c.metric} = ${c.value} (baseline ${c.baseline}) ok`;
    case 'regressed':
      return `${experiment}: ${c.metric} regressed: ${c.value} vs baseline ${c.baseline} (difference ${c.difference! >= 0 ? '+' : ''}${c.difference!.toPrecision(4)}, tolerance ±${c.tolerance})`;
    case 'no-baseline':
      return `${experiment}: ${c.metric} has no baseline (value ${c.value}); run with --update to record one`;
    case 'missing':
      return `${experiment}: ${c.metric} was not reported by the page`;
  }
}
