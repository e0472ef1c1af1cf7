/**
 * Loading trace sets and keeping their analyses current: the page's side effects around the trace worker.
 * Inputs that fail leave the loaded set, its analyses and the spec's trace as they were.
 */
import { formatTraceRef, parseTraceRef, traceBaseUrl } from '../core/experiment/traceRef';
import { describeRequest, Superseded, TraceClient, type BudgetSource } from '../workers/traceClient';
import type { LoadRequest, PickedFile, TokenWindow } from '../workers/traceProtocol';
import type { NotebookStore } from './notebookStore';
import { datasetsKey } from './slices/analysisSlice';
import { errorText } from './errorText';

/** A token window with the set and the dataset filter it was read under. */
export type TokenWindowFor = TokenWindow & { traceId: number; datasetsKey: string };

export class TraceController {
  readonly client: TraceClient;
  /** The trace reference (spec text) of the set on screen, so a failed load can put it back into the spec. */
  private loadedTrace: string | null = null;
  private analysisSeq = 0;
  /** The trace worker died since the last load: reopening the same trace must load it again. */
  private crashed = false;

  constructor(
    private readonly store: NotebookStore,
    budget: BudgetSource | undefined,
    private readonly appBase: string,
    private readonly pageOrigin: string,
  ) {
    this.client = new TraceClient(budget);
    // The worker holding the set died: the summary stays on screen, the views say what happened, and opening
    // the same trace again (or any other) starts a new worker.
    this.client.onCrash = (why) => {
      this.crashed = true;
      this.analysisSeq++;
      store.getState().failAnalysis(`${why}. The trace worker stopped and its copy of the trace set is gone; open the trace set again to restart it.`);
    };
    // New analyses when a load finishes or the dataset filter changes.
    store.subscribe((s, prev) => {
      if (s.current !== prev.current || s.spec.datasets !== prev.spec.datasets) void this.refreshAnalysis();
    });
  }

  /**
   * Opens a trace reference from the spec (demo, path, URL); `local:` names can only be shown, not fetched.
   * `fromUser`: a new set picked on the page, so the old dataset filter no longer applies (a link keeps its own).
   */
  openTrace(trace: string, fromUser = false): void {
    const st = this.store.getState();
    const r = parseTraceRef(trace);
    if (!r.ok) {
      st.failLoad(null, trace, r.message);
      return;
    }
    const text = formatTraceRef(r.ref);
    if (text === this.loadedTrace && !st.loading && !this.crashed) return;
    const base = traceBaseUrl(r.ref, this.appBase, this.pageOrigin);
    if (base === null) {
      st.failLoad(
        null,
        text,
        `this experiment used trace files opened from disk (${JSON.stringify(r.ref.kind === 'local' ? r.ref.name : text)}); open them again with Files… or Folder…, or drop them on the page`,
      );
      return;
    }
    void this.load({ kind: 'url', baseUrl: base }, base, text, fromUser);
  }

  /** Opens files or a folder picked or dropped by the user. */
  openFiles(files: PickedFile[]): void {
    if (files.length === 0) return;
    const label = describeRequest({ kind: 'files', files });
    void this.load({ kind: 'files', files }, label, null, true);
  }

  private async load(req: LoadRequest, label: string, trace: string | null, resetFilter: boolean): Promise<void> {
    const st = this.store.getState();
    const id = st.beginLoad(label);
    if (trace !== null) st.setTrace(trace);
    try {
      const info = await this.client.load(req, label, (p) => this.store.getState().loadProgress(id, p));
      this.crashed = false;
      const loadedTrace = trace ?? `local:${info.label}`.slice(0, 206);
      this.loadedTrace = loadedTrace;
      const after = this.store.getState();
      if (after.loading?.id !== id) return; // a newer load started meanwhile
      after.setTrace(loadedTrace);
      if (resetFilter) after.setDatasets([]);
      after.finishLoad(id, info);
    } catch (e) {
      if (e instanceof Superseded) return;
      const s = this.store.getState();
      s.failLoad(id, label, errorText(e));
      // The spec names what is on screen: put the loaded set's reference back.
      if (this.loadedTrace !== null && s.spec.trace !== this.loadedTrace) s.setTrace(this.loadedTrace);
    }
  }

  /**
   * A window of the tokens on screen under the current dataset filter (`sequence` null: every kept token). The
   * answer names the set and the filter it was read under, so a view drops one that either has changed since.
   */
  async tokens(sequence: number | null, start: number, count: number): Promise<TokenWindowFor> {
    const { current, spec } = this.store.getState();
    if (!current) throw new Error('no trace set is loaded');
    const w = await this.client.tokens({ datasets: spec.datasets, sequence, start, count });
    return { ...w, traceId: current.id, datasetsKey: datasetsKey(spec.datasets) };
  }

  private async refreshAnalysis(): Promise<void> {
    const { current, spec } = this.store.getState();
    if (!current) return;
    const key = datasetsKey(spec.datasets);
    const { analysis } = this.store.getState();
    if (analysis && analysis.traceId === current.id && analysis.datasetsKey === key) return;
    const seq = ++this.analysisSeq;
    try {
      const result = await this.client.analyze(spec.datasets);
      if (seq === this.analysisSeq) this.store.getState().setAnalysis({ ...result, traceId: current.id, datasetsKey: key });
    } catch (e) {
      if (seq === this.analysisSeq) this.store.getState().failAnalysis(errorText(e));
    }
  }
}
