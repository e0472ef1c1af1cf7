/**
 * Training budget, learning rate, batch size, warm-up and early stopping, chosen from the data unless the config
 * sets them. Preset `auto` (the default) sizes a run so that it converges on the trace at hand, small or large;
 * preset `reference` is the reference design's settings (lr 1e-4, batch 16, 5 epochs, no early stopping).
 * A value set in the config always wins over the preset.
 */

export interface ScheduleConfig {
  preset: 'auto' | 'reference';
  lr?: number;
  lrSchedule: 'cosine' | 'constant';
  epochs?: number;
  batchSize?: number;
  earlyStoppingPatience?: number;
}

export interface ScheduleData {
  /** Training tokens (after the validation split). */
  trainTokens: number;
  windowsPerToken: number;
  hasValidation: boolean;
}

export interface Schedule {
  lr: number;
  epochs: number;
  /** Batch size in the model's unit: tokens for per-token models, windows for per-window ones. */
  batchSize: number;
  /** Tokens per batch (per-token models: batchSize; per-window models: batchSize / windows per token). */
  batchTokens: number;
  warmupSteps: number;
  /** Epochs without a better validation score before stopping; 0 = never. */
  patience: number;
  /** At most this many training tokens (whole sequences sampled with the seed); Infinity = all. */
  maxTrainTokens: number;
  /** Where each value came from. */
  from: Record<'lr' | 'epochs' | 'batchSize' | 'patience', 'config' | 'auto' | 'reference'>;
}

export const REFERENCE = { lr: 1e-4, epochs: 5, batchSize: 16, patience: 0 } as const;

/** Per-token models (one pass per token): windows seen per run under `auto` (epochs follow from the data). */
const TOKEN_MODEL_WINDOWS = 2_500_000;
/**
 * Per-window tfjs models are 10-100x slower a window: their auto budget (windows seen over the whole run) is
 * smaller, and a large set is sampled down to whole sequences that fit it in the minimum number of epochs.
 */
const WINDOW_MODEL_WINDOWS = 30_000;
const MIN_EPOCHS = 3;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export function resolveSchedule(c: ScheduleConfig, d: ScheduleData, unit: 'tokens' | 'windows' = 'tokens'): Schedule {
  const ref = c.preset === 'reference';
  const from: Schedule['from'] = { lr: 'auto', epochs: 'auto', batchSize: 'auto', patience: 'auto' };
  const pick = <T>(key: keyof Schedule['from'], set: T | undefined, reference: T, auto: () => T): T => {
    if (set !== undefined) {
      from[key] = 'config';
      return set;
    }
    if (ref) {
      from[key] = 'reference';
      return reference;
    }
    return auto();
  };
  const wpt = Math.max(1, d.windowsPerToken);
  const budget = unit === 'tokens' ? TOKEN_MODEL_WINDOWS : WINDOW_MODEL_WINDOWS;
  // Large sets: a per-window model trains on a sample of whole sequences that fits its budget in one epoch or more.
  const maxTrainTokens = unit === 'windows' && !ref && c.epochs === undefined ? Math.max(1, Math.floor(budget / MIN_EPOCHS / wpt)) : Infinity;
  const tokens = Math.min(d.trainTokens, maxTrainTokens);
  const windows = tokens * wpt;
  const batchSize = pick('batchSize', c.batchSize, REFERENCE.batchSize, () =>
    unit === 'tokens' ? clamp(Math.round(tokens / 100), 8, 128) : clamp(Math.round(windows / 100), 16, 256),
  );
  const lr = pick('lr', c.lr, REFERENCE.lr, () => 3e-3);
  // Per-token models see every window of a large set at least twice; per-window ones at least MIN_EPOCHS times.
  const epochs = pick('epochs', c.epochs, REFERENCE.epochs, () => clamp(Math.ceil(budget / Math.max(1, windows)), unit === 'tokens' ? 2 : MIN_EPOCHS, 60));
  const patience = pick('patience', c.earlyStoppingPatience, REFERENCE.patience, () => (d.hasValidation ? 5 : 0));
  const stepsPerEpoch = Math.ceil((unit === 'tokens' ? tokens : windows) / batchSize);
  const warmupSteps = ref ? 0 : Math.max(1, Math.round(0.03 * stepsPerEpoch * epochs));
  return {
    lr,
    epochs,
    batchSize,
    batchTokens: unit === 'tokens' ? batchSize : Math.max(1, Math.round(batchSize / wpt)),
    warmupSteps,
    patience,
    maxTrainTokens,
    from,
  };
}
