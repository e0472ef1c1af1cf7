import { useRef, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { encodeCompactHash } from '../../core/experiment/compactLink';
import { csvText, type CsvTable } from '../../core/export/chartFiles';
import { errorText } from '../../state/errorText';
import { useOptionalNotebookStore } from '../../state/StoreContext';
import { prefsStore } from '../prefs/prefs';
import { chartPng, chartSvg, download } from './chartImage';

interface Props {
  /** File name stem, e.g. "entropy-chart". */
  name: string;
  /** What the chart shows (file title). */
  title: string;
  /** The chart's numbers as a table. */
  csv: () => CsvTable;
  children: ReactNode;
}

/** A chart with SVG, PNG and CSV downloads; each file carries the experiment link. */
export function ChartExport({ name, title, csv, children }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const store = useOptionalNotebookStore();
  const figure = useStore(prefsStore, (p) => p.figure);
  const [note, setNote] = useState<{ kind: 'busy' | 'error'; text: string } | null>(null);
  const link = () => `${location.origin}${location.pathname}${store ? `#${encodeCompactHash(store.getState().spec)}` : location.hash}`;
  const stem = `speclab-${name}${figure ? '-figure' : ''}`;
  const run = async (what: string, f: () => Promise<void> | void) => {
    setNote({ kind: 'busy', text: `Preparing ${what}…` });
    try {
      await f();
      setNote(null);
    } catch (e) {
      setNote({ kind: 'error', text: `Could not export ${what}: ${errorText(e)}. Try again, or use another format.` });
    }
  };
  const svg = () => run('SVG', () => download(`${stem}.svg`, chartSvg(box.current!, title, link()).text, 'image/svg+xml'));
  const png = () =>
    run('PNG', async () => {
      const l = link();
      download(`${stem}.png`, await chartPng(chartSvg(box.current!, title, l), title, l, figure ? 4 : 2), 'image/png');
    });
  const data = () => run('CSV', () => download(`${stem}.csv`, csvText(csv(), link()), 'text/csv'));
  return (
    <div className="chart-export" ref={box} data-testid={`${name}-export`}>
      {children}
      <div className="export-bar" role="group" aria-label={`Export ${title}`}>
        <button
          type="button"
          className="small"
          data-testid={`${name}-export-svg`}
          title="Download the chart as SVG (vector; the experiment link is in its metadata)"
          onClick={() => void svg()}
        >
          SVG
        </button>
        <button
          type="button"
          className="small"
          data-testid={`${name}-export-png`}
          title="Download the chart as PNG (the experiment link is in a tEXt chunk)"
          onClick={() => void png()}
        >
          PNG
        </button>
        <button
          type="button"
          className="small"
          data-testid={`${name}-export-csv`}
          title="Download the chart's numbers as CSV (first line: the experiment link)"
          onClick={() => void data()}
        >
          CSV
        </button>
        {note && (
          <span className={note.kind === 'error' ? 'field-error' : 'muted small'} role={note.kind === 'error' ? 'alert' : 'status'}>
            {note.text}
          </span>
        )}
      </div>
    </div>
  );
}
