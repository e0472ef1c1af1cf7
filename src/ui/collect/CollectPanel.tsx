import { useState, type FormEvent } from 'react';
import { describeProgress, TERMINAL_STATUSES, type Job, type JobSpec } from '../../state/collectClient';
import { useController, useNotebook } from '../../state/StoreContext';
import { parseDatasetLines } from './datasetLines';
import './collect.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Collect: drives a running `speclab-collect serve` (the user pastes the URL it printed, token included). The
 * connection, the jobs and their event streams are src/state/collectController.ts (the token lives only in its
 * client, in memory: not in the experiment link, the page's URL or storage); this panel holds the forms.
 * Jobs are submitted, listed and followed live; a job that finishes while watched opens in the notebook.
 */
export function CollectPanel() {
  const { collect } = useController();
  const server = useNotebook((s) => s.collect.server);
  const error = useNotebook((s) => s.collect.error);

  return (
    <details className="card collect" data-testid="collect-panel">
      <summary>
        <h2>Collect routing from a model</h2>
      </summary>
      <p className="muted small">
        Start the collector on this machine with <code>speclab-collect serve</code> and paste the URL it prints. Jobs run there; a finished trace set opens
        here.
      </p>
      {server ? (
        <p data-testid="collect-status">
          Connected to {server.base} (speclab-collect {server.version}).{' '}
          <button type="button" onClick={() => collect.disconnect()} data-testid="collect-disconnect">
            Disconnect
          </button>
        </p>
      ) : (
        <ConnectForm connect={(url) => collect.connect(url)} />
      )}
      {error && (
        <p className="field-error" role="alert" data-testid="collect-error">
          {error}
        </p>
      )}
      {server && <Jobs />}
    </details>
  );
}

function ConnectForm({ connect }: { connect: (url: string) => Promise<void> }) {
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await connect(url);
      setUrl('');
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="collect-connect" onSubmit={submit}>
      {/* A password field: the token in the URL is not shown on screen or kept by the browser's form history. */}
      <input
        type="password"
        autoComplete="off"
        data-testid="collect-url"
        aria-label="Collector URL with its token"
        placeholder="http://127.0.0.1:8765/?token=…"
        value={url}
        maxLength={512}
        onChange={(e) => setUrl(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy || !url.trim()} data-testid="collect-connect">
        {busy ? 'Connecting…' : 'Connect'}
      </button>
      {error && (
        <p className="field-error" role="alert" data-testid="collect-connect-error">
          {error}
        </p>
      )}
    </form>
  );
}

function Jobs() {
  const { collect } = useController();
  const jobs = useNotebook((s) => s.collect.jobs);
  const openWhenDone = useNotebook((s) => s.collect.openWhenDone);
  const opened = useNotebook((s) => s.collect.opened);
  const logs = useNotebook((s) => s.collect.logs);

  return (
    <>
      <JobForm existing={jobs.map((j) => j.name)} submit={(spec) => collect.submit(spec)} />
      <h3>Jobs</h3>
      <label className="small">
        <input type="checkbox" checked={openWhenDone} onChange={(e) => collect.setOpenWhenDone(e.currentTarget.checked)} data-testid="collect-open-when-done" />{' '}
        Open a job&apos;s trace set here when it finishes
      </label>
      {jobs.length === 0 ? (
        <p className="muted small" data-testid="collect-no-jobs">
          No jobs on this server yet.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="results collect-jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.name} data-testid="collect-job" data-name={j.name} data-status={j.status}>
                  <th scope="row">{j.name}</th>
                  <td data-testid="collect-job-status">{j.status}</td>
                  <td data-testid="collect-job-progress">
                    {j.status === 'failed' ? (j.error ?? 'failed') : describeProgress(j)}
                    {logs[j.name] !== undefined && <pre className="collect-log">{logs[j.name] || '(empty log)'}</pre>}
                  </td>
                  <td className="collect-actions">
                    {!TERMINAL_STATUSES.includes(j.status) && (
                      <button type="button" data-testid="collect-cancel" onClick={() => void collect.cancel(j.name)}>
                        Cancel
                      </button>
                    )}
                    {(j.status === 'cancelled' || j.status === 'failed') && (
                      <button type="button" data-testid="collect-resume" onClick={() => void collect.resume(j.name)}>
                        Resume
                      </button>
                    )}
                    {j.status === 'done' && (
                      <button type="button" data-testid="collect-open" onClick={() => void collect.open(j.name)}>
                        {opened === j.name ? 'Open again' : 'Open'}
                      </button>
                    )}
                    <button type="button" data-testid="collect-log" onClick={() => void collect.toggleLog(j.name)}>
                      {j.name in logs ? 'Hide log' : 'Log'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const DTYPES = ['bf16', 'fp16', 'fp32'] as const;
const QUANTS = ['none', 'int8', 'int4'] as const;

function JobForm({ existing, submit: send }: { existing: string[]; submit: (spec: JobSpec) => Promise<Job> }) {
  const [f, setF] = useState({
    name: '',
    model: '',
    tokenizer: '',
    datasets: '',
    seqLen: '512',
    batchSize: '8',
    dtype: 'bf16' as (typeof DTYPES)[number],
    quantization: 'none' as (typeof QUANTS)[number],
    gpuMemory: '',
    lookahead: '0',
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => {
    const v = e.currentTarget.value;
    setF((s) => ({ ...s, [k]: v }));
  };
  const int = (label: string, text: string, lo: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < lo) throw new Error(`${label} must be a whole number ≥ ${lo}`);
    return n;
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(null);
    let spec: JobSpec;
    try {
      const ds = parseDatasetLines(f.datasets);
      if (!ds.ok) throw new Error(`datasets: ${ds.message}`);
      const name = f.name.trim();
      if (existing.includes(name)) throw new Error(`a job named ${name} exists already: pick another name`);
      if (!f.model.trim()) throw new Error('model: a Hugging Face id (owner/name) or an absolute model folder on the collector machine');
      spec = {
        name,
        model: f.model.trim(),
        datasets: ds.entries,
        seqLen: int('sequence length', f.seqLen, 1),
        batchSize: int('batch size', f.batchSize, 1),
        dtype: f.dtype,
        quantization: f.quantization,
        lookahead: int('lookahead', f.lookahead, 0),
        ...(f.tokenizer.trim() ? { tokenizer: f.tokenizer.trim() } : {}),
        ...(f.gpuMemory.trim() ? { gpuMemory: f.gpuMemory.trim() } : {}),
      };
    } catch (e) {
      setError(message(e));
      return;
    }
    setBusy(true);
    try {
      await send(spec);
      setF((s) => ({ ...s, name: '' }));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="collect-form" onSubmit={submit} data-testid="collect-form">
      <h3>New job</h3>
      <label>
        Name (the output folder: traces/NAME on the collector)
        <input type="text" data-testid="collect-name" required value={f.name} onChange={set('name')} placeholder="mixtral-wiki" />
      </label>
      <label>
        Model
        <input type="text" data-testid="collect-model" value={f.model} onChange={set('model')} placeholder="mistralai/Mixtral-8x7B-v0.1 or /models/folder" />
      </label>
      <label>
        Tokenizer (empty: the model&apos;s own; bytes: byte tokens)
        <input type="text" data-testid="collect-tokenizer" value={f.tokenizer} onChange={set('tokenizer')} />
      </label>
      <label className="wide">
        Datasets, one per line: [LABEL=]SOURCE[:BUDGET tokens]
        <textarea
          data-testid="collect-datasets"
          rows={3}
          value={f.datasets}
          onChange={set('datasets')}
          placeholder={'wikitext-2:200k\nimdb:200k\nnotes=/data/notes.jsonl:50k'}
        />
      </label>
      <label>
        Sequence length
        <input type="text" inputMode="numeric" data-testid="collect-seq-len" value={f.seqLen} onChange={set('seqLen')} />
      </label>
      <label>
        Batch size
        <input type="text" inputMode="numeric" data-testid="collect-batch-size" value={f.batchSize} onChange={set('batchSize')} />
      </label>
      <label>
        Weights dtype
        <select data-testid="collect-dtype" value={f.dtype} onChange={set('dtype')}>
          {DTYPES.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      <label>
        Quantisation (bitsandbytes)
        <select data-testid="collect-quantization" value={f.quantization} onChange={set('quantization')}>
          {QUANTS.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      <label>
        GPU memory cap (offload beyond it)
        <input type="text" data-testid="collect-gpu-memory" value={f.gpuMemory} onChange={set('gpuMemory')} placeholder="22GiB" />
      </label>
      <label>
        Lookahead layers
        <input type="text" inputMode="numeric" data-testid="collect-lookahead" value={f.lookahead} onChange={set('lookahead')} />
      </label>
      <div className="wide">
        <button type="submit" className="primary" disabled={busy} data-testid="collect-submit">
          {busy ? 'Submitting…' : 'Submit job'}
        </button>
        {error && (
          <p className="field-error" role="alert" data-testid="collect-form-error">
            {error}
          </p>
        )}
      </div>
    </form>
  );
}
