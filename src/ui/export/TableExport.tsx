import { useRef, type ReactNode } from 'react';
import { encodeCompactHash } from '../../core/experiment/compactLink';
import { useOptionalNotebookStore } from '../../state/StoreContext';
import { download } from './chartImage';
import { tableOfElement, tableText, type TableFormat } from './tableText';

const FORMATS: [TableFormat, string, string][] = [
  ['csv', 'CSV', 'text/csv'],
  ['md', 'Markdown', 'text/markdown'],
  ['tex', 'LaTeX', 'application/x-tex'],
];

/** A table with CSV, Markdown and LaTeX downloads of what it shows; each file names the experiment link. */
export function TableExport({ name, children }: { name: string; children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  const store = useOptionalNotebookStore();
  const save = (format: TableFormat, type: string) => {
    const table = box.current?.querySelector('table');
    if (!table) return;
    const link = `${location.origin}${location.pathname}${store ? `#${encodeCompactHash(store.getState().spec)}` : location.hash}`;
    download(`speclab-${name}.${format}`, tableText(tableOfElement(table), format, link), type);
  };
  return (
    <div ref={box} data-testid={`${name}-table-export`}>
      {children}
      <div className="export-bar" role="group" aria-label={`Export the ${name} table`}>
        {FORMATS.map(([f, label, type]) => (
          <button
            key={f}
            type="button"
            className="small"
            data-testid={`${name}-export-${f}`}
            title={`Download the table as ${label}`}
            onClick={() => save(f, type)}
          >
            {label}
          </button>
        ))}
      </div>
    </div>
  );
}
