import { useRef, useState, type FormEvent } from 'react';
import { parseTraceRef } from '../../core/experiment/traceRef';
import { useController, useNotebook } from '../../state/StoreContext';
import { LoadStatus } from './LoadStatus';
import { filesOfInput } from './pickedFiles';

/** Folder picks: `webkitdirectory` is not in React's input attributes, but React passes it through. */
const folderAttrs = { webkitdirectory: '', directory: '' } as Record<string, string>;

/** Where trace sets come from: the demo, a manifest URL, files or a folder from disk (drop anywhere, too). */
export function SourceBar() {
  const controller = useController();
  const trace = useNotebook((s) => s.spec.trace);
  const loaded = useNotebook((s) => s.current !== null);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [url, setUrl] = useState('');
  const [urlError, setUrlError] = useState<string | null>(null);

  const openUrl = (ev: FormEvent) => {
    ev.preventDefault();
    const r = parseTraceRef(url.trim());
    if (!r.ok) return setUrlError(r.message);
    setUrlError(null);
    controller.openTrace(url.trim());
  };

  return (
    <section className="card source-bar" aria-label="Open a trace set">
      <div className="source-row">
        <button type="button" data-testid="open-demo" onClick={() => controller.openTrace('demo')}>
          Demo
        </button>
        {/* Buttons (reached with Tab, pressed with Enter or Space) that open the hidden file inputs. */}
        <button type="button" data-testid="open-files" onClick={() => filesInput.current?.click()}>
          Files…
        </button>
        <button type="button" data-testid="open-folder" onClick={() => folderInput.current?.click()}>
          Folder…
        </button>
        <span hidden>
          <input
            ref={filesInput}
            type="file"
            multiple
            hidden
            aria-label="Trace files"
            data-testid="file-input"
            accept=".json,.arrow,.feather,.jsonl,.ndjson,.csv,.txt"
            onChange={(e) => {
              controller.openFiles(filesOfInput(e.currentTarget.files));
              e.currentTarget.value = '';
            }}
          />
          <input
            ref={folderInput}
            type="file"
            hidden
            aria-label="Trace set folder"
            data-testid="folder-input"
            {...folderAttrs}
            onChange={(e) => {
              controller.openFiles(filesOfInput(e.currentTarget.files));
              e.currentTarget.value = '';
            }}
          />
        </span>
        <form className="url-form" onSubmit={openUrl}>
          <input
            type="text"
            data-testid="url-input"
            aria-label="Trace set URL (folder of manifest.json)"
            placeholder="https://…/trace-set/ or /traces/name"
            value={url}
            maxLength={2048}
            onChange={(e) => setUrl(e.currentTarget.value)}
          />
          <button type="submit" data-testid="url-open">
            Open URL
          </button>
        </form>
      </div>
      {urlError && (
        <p className="field-error" role="alert" data-testid="url-error">
          {urlError}
        </p>
      )}
      <LoadStatus />
      <p className="muted small">
        {loaded && (
          <>
            Showing <span data-testid="trace-url">{trace}</span>.{' '}
          </>
        )}
        A trace set is a folder with manifest.json and its Arrow shards; routing JSONL and hook CSV files are imported. Drop files or folders anywhere on the
        page.
      </p>
    </section>
  );
}
