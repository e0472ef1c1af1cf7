import { useNotebook } from '../../state/StoreContext';

interface Props {
  /** How many layers can be chosen (L, or L-1 for transitions l → l+1). */
  count: number;
  /** The shown value (already clamped to count). */
  value: number;
  /** The model's layer id of MoE layer i, for labels. */
  layerIds: number[];
  label: (layerId: number, i: number) => string;
  testId: string;
}

/** Picks the layer of a per-layer view; the choice is part of the experiment URL. */
export function LayerSelect({ count, value, layerIds, label, testId }: Props) {
  const setLayer = useNotebook((s) => s.setLayer);
  return (
    <label className="control">
      Layer{' '}
      <select data-testid={testId} value={value} onChange={(e) => setLayer(Number(e.currentTarget.value))}>
        {Array.from({ length: count }, (_, i) => (
          <option key={i} value={i}>
            {label(layerIds[i] ?? i, i)}
          </option>
        ))}
      </select>
    </label>
  );
}
