import { BACKEND_PREFERENCES, defaultSpec, MODEL_KINDS } from '../../core/experiment/spec';
import { useEffect } from 'react';
import { modelTaskProblem } from '../../core/experiment/modelConfig';
import { keyText } from '../../core/experiment/url';
import { TASK_KINDS, VISIBILITIES } from '../../core/tasks/task';
import { fieldErrorsStore } from './fieldErrors';
import { interLayerConfigSchema } from '../../ml/config';
import { useNotebook } from '../../state/StoreContext';
import { MODEL_FIELDS, MODEL_MENU, modelInfo } from './models';
import { SpecField, type FieldDef } from './SpecField';

/** The fields of a run, grouped; labels only: keys, text rules, bounds and defaults are the experiment schema's. */
const GROUPS: { title: string; fields: FieldDef[] }[] = [
  {
    title: 'Task and data',
    fields: [
      { key: 'task', label: "Task (layers: the token's next layers; tokens: every layer of the next tokens)", input: 'select', options: TASK_KINDS },
      { key: 'vis', label: 'Visible at prediction (decode: tokens so far; prefill: the whole prompt)', input: 'select', options: VISIBILITIES },
      { key: 'ctx', label: 'Context C' },
      { key: 'hor', label: 'Horizon H' },
      { key: 'test', label: 'Test share of sequences' },
      { key: 'seed', label: 'Seed' },
      { key: 'backend', label: 'Backend', input: 'select', options: BACKEND_PREFERENCES },
    ],
  },
  {
    title: 'Model',
    fields: [
      {
        key: 'model',
        label: 'Model',
        input: 'select',
        options: MODEL_MENU.filter((m) => (MODEL_KINDS as readonly string[]).includes(m)),
        optionLabel: (m) => modelInfo(m).title,
      },
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
      {
        key: 'preset',
        label: 'Preset (auto: from the data; reference: the reference design)',
        input: 'select',
        options: interLayerConfigSchema.shape.preset.unwrap().options,
      },
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
  const task = useNotebook((s) => s.spec.task);
  const info = modelInfo(kind);
  const unit = task.kind === 'tokens' ? 'tokens' : 'layers';
  // A model that cannot predict the task keeps Run disabled, with the reason beside the menu.
  const taskProblem = modelTaskProblem(kind, task);
  useEffect(() => {
    fieldErrorsStore.getState().set('model', 'Model (for this task)', taskProblem !== undefined);
    return () => fieldErrorsStore.getState().set('model', 'Model (for this task)', false);
  }, [taskProblem]);
  const label = (f: FieldDef): FieldDef => (f.key === 'ctx' || f.key === 'hor' ? { ...f, label: `${f.label} (${unit})` } : f);
  // Only the chosen model's fields: a field another model reads would change nothing here.
  const shown = (f: FieldDef) => !MODEL_FIELDS.includes(f.key) || info.fields.includes(f.key);
  return (
    <div className="hyperparams" data-testid="hyperparams">
      {GROUPS.map((g) => (
        <fieldset key={g.title}>
          <legend>{g.title}</legend>
          {g.fields
            .filter(shown)
            .map(label)
            .map((f) => (
              <SpecField key={f.key} def={f} defaultText={keyText(DEFAULTS, f.key)} />
            ))}
          {g.title === 'Model' && taskProblem && (
            <p className="field-error small" role="alert" data-testid="model-task-problem">
              {taskProblem}
            </p>
          )}
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
