/**
 * The learned models' hyperparameters, for the training code: the schema itself is src/core/experiment/modelConfig.ts
 * (core imports nothing from src/ml); these are its names as src/ml has always used them.
 */
import type { ModelConfig } from '../core/experiment/modelConfig';

export {
  BACKEND_NAMES,
  backendNameSchema,
  backendOrder,
  LEARNED_PREDICTORS,
  PRESETS,
  modelConfigSchema,
  modelConfigSchema as interLayerConfigSchema,
  DEFAULT_MODEL_CONFIG,
  DEFAULT_MODEL_CONFIG as DEFAULT_INTERLAYER,
  parseModelConfig,
  parseModelConfig as parseInterLayerConfig,
} from '../core/experiment/modelConfig';
export type {
  BackendName,
  LearnedPredictorName,
  ModelConfig,
  ModelConfig as InterLayerConfig,
  ModelConfigInput,
  ModelConfigInput as InterLayerConfigInput,
} from '../core/experiment/modelConfig';

/** A config's schedule fields as src/ml/schedule.ts takes them ('auto' → undefined). */
export function scheduleConfigOf(c: ModelConfig): import('./schedule').ScheduleConfig {
  const v = <T>(x: T | 'auto'): T | undefined => (x === 'auto' ? undefined : x);
  return {
    preset: c.preset,
    lrSchedule: c.lrSchedule,
    lr: v(c.lr),
    epochs: v(c.epochs),
    batchSize: v(c.batchSize),
    earlyStoppingPatience: v(c.earlyStoppingPatience),
  };
}
