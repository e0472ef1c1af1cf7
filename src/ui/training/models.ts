/**
 * What the form says about each learned model: its name, one line on what it is, and which of the model fields
 * it reads. The list of models is src/ml/config.ts LEARNED_PREDICTORS (the form's menu); a model added there
 * without an entry here is shown by its key with every model field, so the form never hides a setting it uses.
 */
import type { UrlKeyName } from '../../core/experiment/url';
import { LEARNED_PREDICTORS } from '../../ml/config';

export interface ModelInfo {
  title: string;
  description: string;
  /** The model fields (link keys) this model reads; the other model fields are hidden while it is chosen. */
  fields: readonly UrlKeyName[];
}

/** Every field of the form's Model group but the menu itself. */
export const MODEL_FIELDS: readonly UrlKeyName[] = ['emb', 'hidden', 'drop', 'lsh', 'hist', 'vocab', 'dynctx'];

export const MODEL_INFO: Readonly<Record<string, ModelInfo>> = {
  interlayer: {
    title: 'InterLayer',
    description: 'The reference design: expert embedding → LSTM over the context layers → one linear head per horizon step over the experts, multi-label.',
    fields: ['emb', 'hidden', 'drop', 'lsh'],
  },
  'stats-aware': {
    title: 'Statistics-aware',
    description:
      "InterLayer's LSTM over the context layers plus per-layer statistics of the training split (utilisation entropy, routing diversity, activation frequencies as a learned log prior).",
    fields: ['emb', 'hidden', 'drop', 'dynctx'],
  },
  ensemble: {
    title: 'Ensemble',
    description:
      'InterLayer and the statistics-aware model trained separately; their probabilities combined per window and layer, weighted by each one’s confidence there.',
    fields: ['emb', 'hidden', 'drop', 'lsh', 'dynctx'],
  },
  joint: {
    title: 'Joint temporal + inter-layer',
    description:
      "Sees the token's experts at the context layers and the previous tokens' experts at the target layer; a deep part beside a wide (Markov- and temporal-like) part.",
    fields: ['emb', 'hidden', 'drop', 'hist', 'dynctx'],
  },
  'token-aware': {
    title: 'Token-aware',
    description: 'The joint model with an embedding of the token itself (needs token ids or text in the trace).',
    fields: ['emb', 'hidden', 'drop', 'hist', 'vocab', 'dynctx'],
  },
  attention: {
    title: 'Attention',
    description: 'One attention head per target layer over the context layers, the previous tokens at that layer and, when the trace has them, the token.',
    fields: ['emb', 'hidden', 'drop', 'hist', 'vocab', 'dynctx'],
  },
  sequence: {
    title: 'Sequence (per token)',
    description:
      "One pass per token for every layer, on the CPU engine (plain TypeScript, no tfjs backend): the token's context layers, the previous token's experts at each target layer and, when the trace has them, the identities of the token and the two before it; an embedding bag → ReLU → one head per horizon step. The fastest and, at default settings, the strongest model.",
    fields: ['hidden', 'vocab'],
  },
};

/** The form's entry of a model, or its key with every model field when the table has none. */
export function modelInfo(kind: string): ModelInfo {
  return MODEL_INFO[kind] ?? { title: kind, description: `The ${kind} model (src/ml/models).`, fields: MODEL_FIELDS };
}

/** The menu's models, in the order of src/ml/config.ts. */
export const MODEL_MENU: readonly string[] = LEARNED_PREDICTORS;
