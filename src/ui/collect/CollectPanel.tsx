import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { CollectClient, describeProgress, TERMINAL_STATUSES, type Job, type JobSpec } from '../../state/collectClient';
import { useController } from '../../state/StoreContext';
import { parseDatasetLines } from './datasetLines';
import './collect.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Collect: drives a running `speclab-collect serve` (the user pastes the URL it printed, token included). The
 * token lives only in the client object in memory: not in the experiment link, the page's URL or storage.
 * Jobs are submitted, listed and followed live; a job that finishes while watched opens in the notebook.
 */
export function CollectPanel() {
  const [client, setClient] = useState<CollectClient | null>(null);
  const [version, setVersion] = useState('');
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<string | null>(null);

  const disconnect = () => {
    setClient(null);
    setJobs([]);
    setError(null);
  };

  return (
    <details className="card collect" data-testid="collect-panel">
      <summary>
        <h2>Collect routing from a model</h2>
      </summary>
      <p className="muted small">
        Start the collector on this machine with <code>speclab-collect serve</code> and paste the URL it prints. Jobs run there; a finished
        trace set opens here.
      </p>
      {client ? (
        <p data-testid="collect-status">
          Connected to {client.base} (speclab-collect {version}).{' '}
          <button type="button" onClick={disconnect} data-testid="collect-disconnect">
            Disconnect
          </button>
        </p>
      ) : (
        <ConnectForm
          onConnected={(c, v, list) => {
            setClient(c);
            setVersion(v);
            setJobs(list);
            setError(null);
          }}
        />
      )}
      {error && (
        <p className="field-error" role="alert" data-testid="collect-error">
          {error}
        </p>
      )}
      {client && <Jobs client={client} jobs={jobs} setJobs={setJobs} onError={setError} />}
    </details>
  );
}

function ConnectForm({ onConnected }: { onConnected: (c: CollectClient, version: string, jobs: Job[]) => void }) {
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const connect = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const c = CollectClient.fromUrl(url);
      const v = await c.health();
      const list = await c.listJobs();
      setUrl('');
      onConnected(c, v, list);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="collect-connect" onSubmit={connect}>
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

interface JobsProps {
  client: CollectClient;
  jobs: Job[];
  setJobs: React.Dispatch<React.SetStateAction<Job[]>>;
  onError: (e: string | null) => void;
}

function Jobs({ client, jobs, setJobs, onError }: JobsProps) {
  const controller = useController();
  const [openWhenDone, setOpenWhenDone] = useState(true);
  const [opened, setOpened] = useState<string | null>(null);
  const [logs, setLogs] = useState<Record<string, string>>({});
  const openWhenDoneRef = useRef(openWhenDone);
  openWhenDoneRef.current = openWhenDone;

  const upsert = useCallback((job: Job) => setJobs((list) => (list.some((j) => j.name === job.name) ? list.map((j) => (j.name === job.name ? job : j)) : [...list, job])), [setJobs]);

  const open = useCallback(
    async (name: string) => {
      try {
        const files = await client.traceFiles(name);
        controller.openFiles(files);
        setOpened(name);
        onError(null);
      } catch (e) {
        onError(`opening the trace set of ${name}: ${message(e)}`);
      }
    },
    [client, controller, onError],
  );

  // One event stream per job that has not ended; a job seen to finish opens (if asked).
  const active = jobs.filter((j) => !TERMINAL_STATUSES.includes(j.status)).map((j) => j.name);
  const activeKey = active.join('\n');
  const watching = useRef(new Map<string, AbortController>());
  useEffect(() => {
    const want = new Set(activeKey ? activeKey.split('\n') : []);
    for (const [name, ctl] of watching.current) {
      if (!want.has(name)) {
        ctl.abort();
        watching.current.delete(name);
      }
    }
    for (const name of want) {
      if (watching.current.has(name)) continue;
      const ctl = new AbortController();
      watching.current.set(name, ctl);
      client
        .watch(name, upsert, ctl.signal)
        .then((last) => {
          if (last?.status === 'done' && openWhenDoneRef.current && !ctl.signal.aborted) void open(name);
        })
        .catch((e: unknown) => {
          if (!ctl.signal.aborted) onError(`following ${name}: ${message(e)}`);
        })
        .finally(() => {
          if (watching.current.get(name) === ctl) watching.current.delete(name);
        });
    }
  }, [activeKey, client, upsert, open, onError]);
  useEffect(() => {
    const map = watching.current;
    return () => {
      for (const ctl of map.values()) ctl.abort();
      map.clear();
    };
  }, [client]);

  const act = async (f: () => Promise<Job>) => {
    try {
      upsert(await f());
      onError(null);
    } catch (e) {
      onError(message(e));
    }
  };
  const toggleLog = async (name: string) => {
    if (name in logs) {
      setLogs(({ [name]: _, ...rest }) => rest);
      return;
    }
    try {
      const text = await client.log(name);
      setLogs((l) => ({ ...l, [name]: text.slice(-4000) }));
    } catch (e) {
      onError(message(e));
    }
  };

  return (
    <>
      <JobForm client={client} existing={jobs.map((j) => j.name)} onSubmitted={upsert} />
      <h3>Jobs</h3>
      <label className="small">
        <input type="checkbox" checked={openWhenDone} onChange={(e) => setOpenWhenDone(e.currentTarget.checked)} data-testid="collect-open-when-done" /> Open a
        job&apos;s trace set here when it finishes
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
                      <button type="button" data-testid="collect-cancel" onClick={() => act(() => client.cancel(j.name))}>
                        Cancel
                      </button>
                    )}
                    {(j.status === 'cancelled' || j.status === 'failed') && (
                      <button type="button" data-testid="collect-resume" onClick={() => act(() => client.resume(j.name))}>
                        Resume
                      </button>
                    )}
                    {j.status === 'done' && (
                      <button type="button" data-testid="collect-open" onClick={() => void open(j.name)}>
                        {opened === j.name ? 'Open again' : 'Open'}
                      </button>
                    )}
                    <button type="button" data-testid="collect-log" onClick={() => void toggleLog(j.name)}>
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

function JobForm({ client, existing, onSubmitted }: { client: CollectClient; existing: string[]; onSubmitted: (j: Job) => void }) {
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
      onSubmitted(await client.submit(spec));
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
        <textarea data-testid="collect-datasets" rows={3} value={f.datasets} onChange={set('datasets')} placeholder={'wikitext-2:200k\nimdb:200k\nnotes=/data/notes.jsonl:50k'} />
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
