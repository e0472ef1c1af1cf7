import { BACKEND_PREFERENCES, defaultSpec, MODEL_KINDS } from '../../core/experiment/spec';
import { keyText } from '../../core/experiment/url';
import { interLayerConfigSchema } from '../../ml/config';
import { SpecField, type FieldDef } from './SpecField';

/** The fields of a run, grouped; labels only: keys, text rules, bounds and defaults are the experiment schema's. */
const GROUPS: { title: string; fields: FieldDef[] }[] = [
  {
    title: 'Task and data',
    fields: [
      { key: 'ctx', label: 'Context C (layers)' },
      { key: 'hor', label: 'Horizon H (layers)' },
      { key: 'test', label: 'Test share of sequences' },
      { key: 'seed', label: 'Seed' },
      { key: 'backend', label: 'Backend', input: 'select', options: BACKEND_PREFERENCES },
    ],
  },
  {
    title: 'Model',
    fields: [
      { key: 'model', label: 'Model', input: 'select', options: MODEL_KINDS },
      { key: 'emb', label: 'Expert embedding size' },
      { key: 'hidden', label: 'Hidden units (LSTM / dense)' },
      { key: 'drop', label: 'Dropout' },
      { key: 'lsh', label: 'One head per target layer (InterLayer)', input: 'checkbox' },
      { key: 'hist', label: 'Previous tokens (joint, token-aware, attention)' },
      { key: 'vocab', label: 'Token vocabulary (token-aware)' },
      { key: 'dynctx', label: 'Dynamic context length', input: 'checkbox' },
    ],
  },
  {
    title: 'Training',
    fields: [
      { key: 'epochs', label: 'Epochs' },
      { key: 'batch', label: 'Batch size' },
      { key: 'lr', label: 'Learning rate' },
      { key: 'sched', label: 'Schedule', input: 'select', options: interLayerConfigSchema.shape.lrSchedule.unwrap().options },
      { key: 'wd', label: 'Weight decay' },
      { key: 'clip', label: 'Gradient clip (norm)' },
      { key: 'val', label: 'Validation share' },
      { key: 'patience', label: 'Early-stopping patience' },
    ],
  },
];

const DEFAULTS = defaultSpec();

/** Editable hyperparameters with the reference design's defaults beside each. */
export function HyperparamForm() {
  return (
    <div className="hyperparams" data-testid="hyperparams">
      {GROUPS.map((g) => (
        <fieldset key={g.title}>
          <legend>{g.title}</legend>
          {g.fields.map((f) => (
            <SpecField key={f.key} def={f} defaultText={keyText(DEFAULTS, f.key)} />
          ))}
        </fieldset>
      ))}
    </div>
  );
}
