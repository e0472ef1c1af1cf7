import { useManifest, useAnalysis } from '../hooks';
import { useNotebook } from '../../state/StoreContext';

/** Checkboxes over the trace set's datasets (only when it has several); none ticked means all. */
export function DatasetFilter() {
  const manifest = useManifest();
  const selected = useNotebook((s) => s.spec.datasets);
  const setDatasets = useNotebook((s) => s.setDatasets);
  const unknown = useAnalysis()?.unknownDatasets ?? [];
  if (!manifest || (manifest.datasets.length < 2 && unknown.length === 0)) return null;
  const toggle = (name: string, on: boolean) => {
    const next = on ? [...selected, name] : selected.filter((d) => d !== name);
    // Keep the manifest's order, so the same choice always gives the same link.
    setDatasets(manifest.datasets.filter((d) => next.includes(d)).concat(next.filter((d) => !manifest.datasets.includes(d))));
  };
  return (
    <fieldset className="dataset-filter" data-testid="dataset-filter">
      <legend>
        Datasets{' '}
        <span className="muted small" data-testid="dataset-filter-state">
          {selected.length === 0
            ? '— none ticked: every dataset is used; tick some to keep only those'
            : `— ${selected.length} of ${manifest.datasets.length} used`}
        </span>
      </legend>
      {manifest.datasets.map((d) => (
        <label key={d} className="control">
          <input type="checkbox" data-testid="dataset-option" value={d} checked={selected.includes(d)} onChange={(e) => toggle(d, e.currentTarget.checked)} />{' '}
          {d}
        </label>
      ))}
      {unknown.length > 0 && (
        <p className="field-error" data-testid="dataset-unknown">
          Not in this trace set (ignored): {unknown.join(', ')}{' '}
          <button type="button" onClick={() => setDatasets(selected.filter((d) => !unknown.includes(d)))}>
            Clear
          </button>
        </p>
      )}
    </fieldset>
  );
}
