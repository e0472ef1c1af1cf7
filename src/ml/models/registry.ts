/**
 * The models of this folder by name: what each takes from the training split (statistics, vocabulary), which
 * extra inputs its windows carry, and how it is built (InterLayer's model is ../interLayerModel.ts). One adapter,
 * modelPredictor.ts, makes any entry a learned predictor: a new model is its file and its entry here.
 */
import type { NamedTensor } from '../../core/export/safetensors';
import type { TraceSet } from '../../core/trace/types';
import type { InterLayerConfig } from '../config';
import { AttentionModel } from './attentionModel';
import type { FeatureOptions } from './features';
import { JointModel } from './jointModel';
import { computeLayerStats } from './layerStats';
import type { ModelFactory } from './speculationModel';
import { StatsAwareModel } from './statsAwareModel';
import { tokenAwareFactory } from './tokenAwareModel';
import { buildVocabulary } from './vocabulary';

export interface ModelDef {
  /** Fits what the model takes from the training split (never the test split) and returns its factory and inputs. */
  prepare(
    train: TraceSet,
    config: InterLayerConfig,
  ): {
    /** Builds the model; absent: InterLayer (../interLayerModel.ts), which the session builds and may train with the fused WebGPU step. */
    factory?: ModelFactory;
    features: FeatureOptions;
    note?: string;
    exported?: ExportedParts;
    /** The model's output depends only on the window's content (context experts and layers): scored over distinct windows, no extra inputs. */
    keyedByContent?: boolean;
  };
}

/** What an export (../exportModel.ts) carries beside the model's parameters: its options and its constants. */
export interface ExportedParts {
  options?: Record<string, unknown>;
  constants?: Record<string, NamedTensor>;
}

export const MODEL_DEFS = {
  interlayer: {
    prepare: () => ({ features: { history: 0 }, keyedByContent: true }),
  },
  'stats-aware': {
    prepare(train, c) {
      const stats = computeLayerStats(train);
      return {
        factory: (shape, seed) => new StatsAwareModel(shape, seed, stats, c.dynamicContext),
        features: { history: 0 },
        exported: { constants: { layerStats: { shape: [train.manifest.numLayers, stats.width], data: stats.values } } },
      };
    },
  },
  joint: {
    prepare(_train, c) {
      const o = { history: c.history, vocabSize: 0, dynamicContext: c.dynamicContext };
      return {
        factory: (shape, seed) => new JointModel(shape, seed, o),
        features: { history: c.history },
        exported: { options: { history: o.history, vocabSize: 0 } },
      };
    },
  },
  'token-aware': {
    prepare(train, c) {
      const vocabulary = buildVocabulary(train, c.vocabSize);
      return {
        factory: tokenAwareFactory(c, vocabulary),
        features: { history: c.history, vocabulary },
        exported: { options: { history: c.history, vocabSize: vocabulary.size } },
        note: `vocabulary of ${vocabulary.size} token ${vocabulary.source === 'id' ? 'ids' : 'texts'} covering ${(vocabulary.coverage * 100).toFixed(1)}% of the training tokens`,
      };
    },
  },
  attention: {
    prepare(train, c) {
      // Token ids or text join the attended items when the trace has them.
      const vocabulary = train.manifest.hasTokenIds || train.manifest.hasTokenText ? buildVocabulary(train, c.vocabSize) : undefined;
      const o = { history: c.history, vocabSize: vocabulary?.size ?? 0, dynamicContext: c.dynamicContext };
      return {
        factory: (shape, seed) => new AttentionModel(shape, seed, o),
        features: { history: c.history, vocabulary },
        exported: { options: { history: o.history, vocabSize: o.vocabSize } },
      };
    },
  },
} satisfies Record<string, ModelDef> as Record<'interlayer' | 'stats-aware' | 'joint' | 'token-aware' | 'attention', ModelDef>;

export type ModelName = keyof typeof MODEL_DEFS;

/** The registry entry of a model by name (one added with registerModel included), or undefined. */
export function modelDef(name: string): ModelDef | undefined {
  return Object.hasOwn(MODEL_DEFS, name) ? (MODEL_DEFS as Record<string, ModelDef>)[name] : undefined;
}

/** Adds a model to the registry at run time (an entry of MODEL_DEFS written elsewhere, e.g. by a test). */
export function registerModel(name: string, def: ModelDef): void {
  if (modelDef(name)) throw new Error(`a model named ${name} is already registered`);
  (MODEL_DEFS as Record<string, ModelDef>)[name] = def;
}
