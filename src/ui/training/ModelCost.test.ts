// The sentence under the results table that sets the model's inference time against the traced model's layer time.
import { describe, expect, it } from 'vitest';
import type { PredictorCost } from '../../workers/trainingClient';
import { costSentence } from './ModelCost';
import { formatMs } from './ResultsTable';

const base: PredictorCost = {
  parameters: 1000,
  bytes: 4000,
  inferenceMsPerToken: 2.8,
  inferenceMsPerWindow: 0.1,
  device: 'gpu',
  backend: 'webgpu',
  batches: 5,
  tokensPerBatch: 64,
  batchMs: [1, 2, 3, 4, 5],
  layer: {
    ms: 0.4,
    model: 'Mixtral-8x7B',
    activeParametersPerLayer: 1,
    bytesPerWeight: 1,
    bandwidthGBs: 936,
    device: 'GeForce RTX 3090',
    how: 'how',
    source: 'src',
  },
  windowToLayer: 0.25,
};

describe('costSentence', () => {
  it("says whether a layer's prediction hides behind a layer of the traced model", () => {
    expect(costSentence(base)).toBe(
      "One layer's prediction (a window, every horizon step) takes 0.100 ms on webgpu (GPU; 2.80 ms per token). A Mixtral-8x7B layer takes at least 0.400 ms (how): the prediction is hidden behind it (25% of a layer).",
    );
    expect(costSentence({ ...base, inferenceMsPerWindow: 1, windowToLayer: 2.5 })).toMatch(/the prediction is 2\.5× a layer: not hidden\.$/);
    expect(costSentence({ ...base, layer: null, windowToLayer: null })).toMatch(/layer time is not known to SpecLab/);
  });
  it('formats milliseconds to three significant digits', () => {
    expect([formatMs(0.012345), formatMs(4.567), formatMs(123.4)]).toEqual(['0.0123 ms', '4.57 ms', '123 ms']);
  });
});
