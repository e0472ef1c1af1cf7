import { BACKEND_PREFERENCES, defaultSpec, MODEL_KINDS } from '../../core/experiment/spec';
import { keyText } from '../../core/experiment/url';
import { interLayerConfigSchema } from '../../ml/config';
import { useNotebook } from '../../state/StoreContext';
import { MODEL_FIELDS, MODEL_MENU, modelInfo } from './models';
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
      { key: 'model', label: 'Model', input: 'select', options: MODEL_MENU.filter((m) => (MODEL_KINDS as readonly string[]).includes(m)), optionLabel: (m) => modelInfo(m).title },
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
      { key: 'preset', label: 'Preset (auto: from the data; reference: the reference design)', input: 'select', options: interLayerConfigSchema.shape.preset.unwrap().options },
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
  const kind = useNotebook((s) => s.spec.model.kind);
  const info = modelInfo(kind);
  // Only the chosen model's fields: a field another model reads would change nothing here.
  const shown = (f: FieldDef) => !MODEL_FIELDS.includes(f.key) || info.fields.includes(f.key);
  return (
    <div className="hyperparams" data-testid="hyperparams">
      {GROUPS.map((g) => (
        <fieldset key={g.title}>
          <legend>{g.title}</legend>
          {g.fields.filter(shown).map((f) => (
            <SpecField key={f.key} def={f} defaultText={keyText(DEFAULTS, f.key)} />
          ))}
          {g.title === 'Model' && (
            <p className="muted small model-description" data-testid="model-description" data-model={kind}>
              <strong>{info.title}</strong>: {info.description}
            </p>
          )}
        </fieldset>
      ))}
    </div>
  );
}
