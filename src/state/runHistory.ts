/**
 * Keeps every training run: when a run settles (training done, stopped or failed, and the baselines scored or
 * failed) its experiment, curves, results and times are written to IndexedDB and listed; a resumed run updates
 * its record. Rename, annotate, delete, export and import act on the store and the database together.
 */
import { migrateRunResults, modelResultOf } from '../core/runs/names';
import { parseRunFile, runFileText, type RunRecord } from '../core/runs/record';
import { runKeyOf } from './runController';
import { IDLE_TRAINING } from './slices/runSlice';
import { errorText } from './errorText';
import type { NotebookState, NotebookStore } from './notebookStore';
import type { RunsDb } from './runsDb';

const SETTLED = new Set(['done', 'stopped', 'error']);

interface Pending {
  id: string;
  runKey: string;
  createdAt: number;
  spec: NotebookState['spec'];
  trace: RunRecord['trace'];
}

function newId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export class RunHistory {
  private pending: Pending | null = null;
  private unsubscribe: () => void = () => {};

  constructor(
    private readonly store: NotebookStore,
    private readonly db: RunsDb,
  ) {}

  /** Reads the kept runs and starts recording new ones. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.subscribe((s, prev) => this.observe(s, prev));
    try {
      const listed = await this.db.list();
      // Records kept before results were keyed by model kind are migrated as they are read (and written back on the next change).
      const runs = listed.runs.map(migrateRunResults);
      const skipped = listed.skipped;
      const st = this.store.getState();
      // Runs recorded while the list was being read stay.
      const fresh = st.runs.filter((r) => !runs.some((x) => x.id === r.id));
      st.setRuns([...runs, ...fresh].sort((a, b) => a.createdAt - b.createdAt));
      if (skipped > 0) st.setRunsNote({ kind: 'error', text: `${skipped} kept run(s) could not be read (saved by another version) and are not listed.` });
    } catch (e) {
      this.failStorage(e);
    }
  }

  dispose(): void {
    this.unsubscribe();
  }

  private failStorage(e: unknown): void {
    this.store.getState().setRunsNote({
      kind: 'error',
      text: `Runs cannot be kept in this browser (${errorText(e)}); they stay until the page closes. Use "Export" to save them to a file.`,
    });
  }

  private observe(s: NotebookState, prev: NotebookState): void {
    // beginRun: a new baseline status (running) and a fresh training state, in one update — also when pressed twice.
    const begun = s.baselineStatus !== prev.baselineStatus && s.baselineStatus.state === 'running' && s.training.status === 'starting';
    if (begun && s.runKey && s.current) {
      const m = s.current.info.manifest;
      this.pending = {
        id: newId(),
        runKey: s.runKey,
        createdAt: Date.now(),
        spec: s.spec,
        trace: { model: m.model.name, tokens: s.current.info.tokens, layers: m.numLayers, experts: m.numExperts, topK: m.topK },
      };
      return;
    }
    const p = this.pending;
    if (!p || s.runKey !== p.runKey) return;
    if (s.training === prev.training && s.baselines === prev.baselines && s.baselineStatus === prev.baselineStatus) return;
    if (!SETTLED.has(s.training.status) || s.baselineStatus.state === 'running') return;
    void this.save(this.snapshot(p, s));
  }

  private snapshot(p: Pending, s: NotebookState): RunRecord {
    const existing = s.runs.find((r) => r.id === p.id);
    const results: RunRecord['results'] = { ...(s.baselines?.results ?? {}) };
    // Keyed by the model that trained (the spec may have changed since the run began).
    if (s.training.result) results[s.training.model ?? p.spec.model.kind] = s.training.result;
    const errors = runErrors(s.training.error, s.baselineStatus.message);
    return {
      id: p.id,
      name: existing?.name ?? `Run ${s.runs.length + 1}: ${p.spec.model.kind} C${p.spec.task.context} H${p.spec.task.horizon} seed ${p.spec.seed}`,
      note: existing?.note ?? '',
      createdAt: p.createdAt,
      finishedAt: Date.now(),
      status: s.training.status as RunRecord['status'],
      spec: p.spec,
      trace: p.trace,
      backend: s.training.backend?.backend ?? null,
      epochs: [...s.training.epochs].sort((a, b) => a.epoch - b.epoch),
      results,
      split: s.baselines?.split ?? null,
      error: errors.length ? errors.join('; ') : null,
    };
  }

  private async save(run: RunRecord): Promise<void> {
    this.store.getState().upsertRun(run);
    try {
      await this.db.put(run);
    } catch (e) {
      this.failStorage(e);
    }
  }

  /**
   * Opens a kept run: its experiment becomes the spec (the caller puts it in the link) and the training view shows
   * the run's own model, curves and test numbers — current (not stale) when the trace set loaded now is the one
   * it ran on. Returns the run's spec, or null when there is no such run.
   */
  open(id: string): RunRecord['spec'] | null {
    const run = this.find(id);
    if (!run) return null;
    this.pending = null; // a run being recorded is not overwritten by the opened one's numbers
    const st = this.store.getState();
    const { current } = st;
    const m = current?.info.manifest;
    const same =
      current !== null &&
      m !== undefined &&
      m.model.name === run.trace.model &&
      current.info.tokens === run.trace.tokens &&
      m.numLayers === run.trace.layers &&
      m.numExperts === run.trace.experts &&
      m.topK === run.trace.topK;
    const result = modelResultOf(run) ?? null;
    const baselines = Object.fromEntries(Object.entries(run.results).filter(([, r]) => r.kind === 'baseline'));
    st.showRun(
      // Another trace set (or none) loaded: a key no experiment has, so the numbers show as not of what is loaded.
      same ? runKeyOf(run.spec, current.id) : `opened:${run.id}`,
      { ...IDLE_TRAINING, status: run.status, epochs: run.epochs as typeof IDLE_TRAINING.epochs, result, model: run.spec.model.kind, error: run.error },
      run.split ? { results: baselines, split: run.split } : null,
    );
    return run.spec;
  }

  private find(id: string): RunRecord | undefined {
    return this.store.getState().runs.find((r) => r.id === id);
  }

  async rename(id: string, name: string): Promise<void> {
    const r = this.find(id);
    if (r && r.name !== name) await this.save({ ...r, name: name.slice(0, 200) });
  }

  async annotate(id: string, note: string): Promise<void> {
    const r = this.find(id);
    if (r && r.note !== note) await this.save({ ...r, note: note.slice(0, 10_000) });
  }

  async remove(id: string): Promise<void> {
    this.store.getState().removeRun(id);
    try {
      await this.db.delete(id);
    } catch (e) {
      this.failStorage(e);
    }
  }

  /** The selected runs (all, when none is selected) as the text of a run file. */
  exportText(ids: readonly string[]): { text: string; count: number } {
    const all = this.store.getState().runs;
    const runs = ids.length ? all.filter((r) => ids.includes(r.id)) : all;
    return { text: runFileText(runs), count: runs.length };
  }

  /** Reads a run file (validated) and keeps its runs, selected; an existing run with the same id is replaced. */
  async importFile(name: string, read: () => Promise<string>): Promise<void> {
    const st = () => this.store.getState();
    st().setRunsNote({ kind: 'busy', text: `Reading ${name}…` });
    let text: string;
    try {
      text = await read();
    } catch (e) {
      st().setRunsNote({ kind: 'error', text: `${name}: could not be read (${errorText(e)}); choose the file again.` });
      return;
    }
    const r = parseRunFile(text, name);
    if (!r.ok) {
      st().setRunsNote({ kind: 'error', text: `${r.message}. Nothing was imported.` });
      return;
    }
    for (const run of r.runs) {
      await this.save(run);
      if (!st().runsSelected.includes(run.id)) st().toggleRunSelected(run.id);
    }
    st().setRunsNote({ kind: 'info', text: `Imported ${r.runs.length} run(s) from ${name}.` });
  }
}

/**
 * A run's failure messages, each said once: a split that cannot be made fails the baselines and the training with
 * the same message, and a message one part repeats inside the other's (a wrapper's prefix) counts once too.
 */
export function runErrors(...messages: (string | null | undefined)[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    const text = m?.trim();
    if (!text) continue;
    if (out.some((o) => o.includes(text))) continue;
    for (let i = out.length - 1; i >= 0; i--) if (text.includes(out[i])) out.splice(i, 1);
    out.push(text);
  }
  return out;
}
