/**
 * The learned predictors by name, each wrapped with the residual baselines (blend.ts). The interface and the
 * InterLayer adapter are in interLayerPredictor.ts (the ensemble builds on it without importing this file).
 */
import type { TraceShape } from '../core/trace/types';
import { withBaselines } from './blend';
import { parseInterLayerConfig, type InterLayerConfigInput, type LearnedPredictorName } from './config';
import { interLayerPredictor, type LearnedPredictor } from './interLayerPredictor';
import { ensemblePredictor } from './models/ensemble';
import { modelPredictor } from './models/modelPredictor';
import { modelDef } from './models/registry';
import { sequencePredictor } from './sequence/sequencePredictor';
import type { TrainingHooks } from './trainingSession';

export { interLayerPredictor, type InterLayerPredictorOptions, type LearnedPredictor } from './interLayerPredictor';

export interface LearnedFactoryOptions {
  config?: InterLayerConfigInput;
  hooks?: TrainingHooks;
  /** Notes on what a model took from the training split (e.g. its vocabulary). */
  log?: (line: string) => void;
  /** The ensemble's members when they are trained on their own in the same run (see EnsembleOptions.reuse). */
  reuse?: Partial<Record<'interlayer' | 'stats-aware', LearnedPredictor>>;
}

export type LearnedFactory = (shape: TraceShape, seed: number, opts?: LearnedFactoryOptions) => LearnedPredictor;

/** Each model's own predictor, without the residual baselines. */
const MODELS: Record<LearnedPredictorName, LearnedFactory> = {
  interlayer: (shape, seed, o = {}) => interLayerPredictor(shape, { config: { ...o.config, seed }, hooks: o.hooks }),
  'stats-aware': (shape, seed, o = {}) => modelPredictor('stats-aware', shape, { config: { ...o.config, seed }, hooks: o.hooks, log: o.log }),
  ensemble: (shape, seed, o = {}) => ensemblePredictor(shape, { config: { ...o.config, seed }, hooks: o.hooks, log: o.log, reuse: o.reuse }),
  joint: (shape, seed, o = {}) => modelPredictor('joint', shape, { config: { ...o.config, seed }, hooks: o.hooks, log: o.log }),
  'token-aware': (shape, seed, o = {}) => modelPredictor('token-aware', shape, { config: { ...o.config, seed }, hooks: o.hooks, log: o.log }),
  attention: (shape, seed, o = {}) => modelPredictor('attention', shape, { config: { ...o.config, seed }, hooks: o.hooks, log: o.log }),
  sequence: (shape, seed, o = {}) => sequencePredictor(shape, { config: parseInterLayerConfig({ ...o.config, seed }), hooks: o.hooks, log: o.log }),
};

/**
 * Learned predictors by name (see LEARNED_PREDICTORS in config.ts); `seed` overrides the config's seed. Every one
 * carries the Markov and temporal baselines as residual logits weighted on the validation split (blend.ts).
 */
export const LEARNED: Record<LearnedPredictorName, LearnedFactory> = Object.fromEntries(
  Object.entries(MODELS).map(([name, make]) => [
    name,
    (shape: TraceShape, seed: number, o: LearnedFactoryOptions = {}) => {
      const c = parseInterLayerConfig({ ...o.config, seed });
      return withBaselines(make(shape, seed, o), shape, c, o.log);
    },
  ]),
) as unknown as Record<LearnedPredictorName, LearnedFactory>;

/**
 * The learned predictor of a name, with the residual baselines: one of LEARNED, or any other model of the registry
 * (src/ml/models/registry.ts, registerModel included) through the one adapter; undefined for an unknown name.
 */
export function learnedFactory(name: string): LearnedFactory | undefined {
  if (Object.hasOwn(LEARNED, name)) return LEARNED[name as LearnedPredictorName];
  if (!modelDef(name)) return undefined;
  return (shape, seed, o = {}) => {
    const c = parseInterLayerConfig({ ...o.config, seed });
    return withBaselines(modelPredictor(name, shape, { config: { ...o.config, seed }, hooks: o.hooks, log: o.log }), shape, c, o.log);
  };
}
