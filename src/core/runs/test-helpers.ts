/** Runs for the tests of this folder: a learned result, and a kept run of the default spec with it. */
import { defaultSpec, experimentSpecSchema } from '../experiment/spec';
import type { PredictorResult } from '../predictors/evaluate';
import type { RunRecord } from './record';

export const result = (recall: number[]): PredictorResult => ({
  kind: 'learned',
  recallAtK: recall,
  exact: recall.map((r) => r / 2),
  top1: recall,
  top3: recall,
  top5: recall,
  coverage: recall.map(() => [{ threshold: 0, coverage: 1, precision: recall[0] }]),
  samples: 100,
});

export function record(id: string, recall: number[], overrides: Record<string, unknown> = {}): RunRecord {
  const spec = experimentSpecSchema.parse({ ...defaultSpec(), ...overrides });
  return {
    id,
    name: `run ${id}`,
    note: '',
    createdAt: 1_700_000_000_000,
    finishedAt: 1_700_000_100_000,
    status: 'done',
    spec,
    trace: { model: 'demo', tokens: 1964, layers: 8, experts: 8, topK: 2 },
    backend: 'cpu',
    epochs: [{ epoch: 1, step: 10, lr: 1e-3, trainLoss: 0.5, trainRecall: recall, valLoss: null, valRecall: null, seconds: 1.5, samplesPerSecond: 40 }],
    results: { interlayer: result(recall), random: { ...result([0.25, 0.25]), kind: 'baseline' } },
    split: { trainSequences: 8, testSequences: 2, trainTokens: 1500, testTokens: 464 },
    error: null,
  };
}
