import { useState } from 'react';
import { useController, useNotebook } from '../../state/StoreContext';
import type { PredictorCost } from '../../workers/trainingClient';
import { errorText } from '../../state/errorText';
import { download } from '../export/chartImage';
import { formatMs } from './ResultsTable';

/** Speculation against routing: the time one layer's prediction takes beside the time a layer of the traced model takes. */
export function costSentence(cost: PredictorCost): string {
  const own = `One layer's prediction (a window, every horizon step) takes ${formatMs(cost.inferenceMsPerWindow)} on ${cost.backend} (${cost.device.toUpperCase()}; ${formatMs(cost.inferenceMsPerToken)} per token).`;
  if (!cost.layer) return `${own} The traced model's layer time is not known to SpecLab (src/ml/layerTime.ts), so it is not compared.`;
  const l = cost.layer;
  const verdict =
    cost.windowToLayer! < 1
      ? `hidden behind it (${(cost.windowToLayer! * 100).toFixed(0)}% of a layer)`
      : `${cost.windowToLayer!.toFixed(1)}× a layer: not hidden`;
  return `${own} A ${l.model} layer takes at least ${formatMs(l.ms)} (${l.how}): the prediction is ${verdict}.`;
}

/** The trained model's inference cost against the traced model's layer time, and its export as a zip. */
export function ModelCost() {
  const controller = useController();
  const cost = useNotebook((s) => s.training.cost ?? null);
  const done = useNotebook((s) => s.training.status === 'done' && s.training.result !== null);
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  // Only a run trained in this page has a cost (a kept run opened from the list has none): the worker holds its model.
  if (!done || !cost) return null;
  const exportModel = async () => {
    setState({ busy: true, error: null });
    try {
      const { name, zip } = await controller.exportModel();
      download(name, zip, 'application/zip');
      setState({ busy: false, error: null });
    } catch (e) {
      setState({ busy: false, error: errorText(e) });
    }
  };
  return (
    <div className="model-cost" data-testid="model-cost">
      <p className="muted small" data-testid="cost-sentence">
        {costSentence(cost)}
      </p>
      <button
        type="button"
        data-testid="export-model"
        disabled={state.busy}
        title="Weights (safetensors), description (JSON) and reference cases from the test split, for collector/speclab_collect/predictor.py"
        onClick={() => void exportModel()}
      >
        {state.busy ? 'Exporting…' : 'Export model'}
      </button>
      {state.error && (
        <p className="field-error" data-testid="export-error">
          {state.error}
        </p>
      )}
    </div>
  );
}
