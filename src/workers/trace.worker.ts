/**
 * The trace worker: holds one loaded trace set, decodes and imports off the main thread, and computes the
 * analyses and the baselines there. Large arrays go back as transferables. The page starts a fresh worker for
 * each input and keeps the previous one until the new input loaded (src/workers/traceClient.ts).
 */
import '../core/zodJitless'; // before the manifest schema is built
import { expose, transfer } from 'comlink';
import { analyze, statsFromCounts } from '../core/analysis/stats';
import { indexSequences, tokenWindow, type SequenceIndex } from '../core/analysis/tokens';
import { resolveDatasets } from '../core/experiment/datasets';
import { scoreBaselines } from '../core/predictors/registry';
import { splitForRun } from '../core/tasks/split';
import { GuardedRunner, webWorkerHandle } from '../core/trace/guarded';
import type { TraceChunk, TraceSet } from '../core/trace/types';
import { AnalysisPool, PARALLEL_MIN_TOKENS, type PartWorker } from './analysisPool';
import { openShardCache } from './shardCache';
import { loadFromFiles, loadFromUrl, PAGE_DECODE_BUDGET } from './traceLoad';
import type {
  AnalysisResult,
  BaselineResult,
  LoadedInfo,
  LoadProgress,
  LoadRequest,
  SplitData,
  SplitRequest,
  SplitSummary,
  TokenRequest,
  TokenWindow,
  TraceWorkerApi,
} from './traceProtocol';

let current: TraceSet | null = null;

/** The window caps of a run's split (src/core/tasks/split.ts: the page and the CLI split the same way). */
export { MAX_TEST_WINDOWS, MAX_TRAIN_WINDOWS } from '../core/tasks/split';

/** Helpers for analyses of large sets: one per core besides this worker's (at most 3). */
const pool = new AnalysisPool(
  Math.max(0, Math.min(3, (navigator.hardwareConcurrency || 1) - 1)),
  () => new Worker(new URL('./analysisPart.worker.ts', import.meta.url), { type: 'module', name: 'analysis-part' }) as unknown as PartWorker,
);

/**
 * One operation on the loaded set at a time: an analysis lends its chunks' arrays to helper workers, so
 * nothing else may read them meanwhile.
 */
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(f: () => Promise<T>): Promise<T> {
  const run = queue.then(f);
  queue = run.catch(() => {});
  return run;
}

/** The token view's sequence index of the loaded set, for the last dataset filter asked (rebuilt when either changes). */
let sequenceIndex: { set: TraceSet; key: string; index: SequenceIndex } | null = null;

function sequencesOf(set: TraceSet, datasets: string[]): SequenceIndex {
  const sel = resolveDatasets(set.manifest.datasets, datasets);
  const key = sel.indices ? sel.indices.join(',') : '*';
  if (sequenceIndex?.set !== set || sequenceIndex.key !== key) sequenceIndex = { set, key, index: indexSequences(set, sel.indices) };
  return sequenceIndex.index;
}

function loaded(): TraceSet {
  if (!current) throw new Error('no trace set is loaded in this worker');
  return current;
}

function split(req: SplitRequest): { train: TraceSet; test: TraceSet; split: SplitSummary } {
  const { train, test, split } = splitForRun(loaded(), req);
  return { train, test, split };
}

/** The columns training uses (routing, token identities, lookahead gate), copied, so they can be transferred without detaching this worker's trace. */
function routingOnly(set: TraceSet): { set: TraceSet; buffers: ArrayBuffer[] } {
  const buffers: ArrayBuffer[] = [];
  const chunks = set.chunks.map((c): TraceChunk => {
    const out: TraceChunk = { tokens: c.tokens, seq: c.seq.slice(), pos: c.pos.slice(), dataset: c.dataset.slice(), experts: c.experts.slice() };
    buffers.push(...[out.seq, out.pos, out.dataset, out.experts].map((a) => a.buffer as ArrayBuffer));
    // Token identities (the sequence and token-aware models' vocabulary) and the lookahead gate (the blend's part).
    if (c.tokenId) buffers.push((out.tokenId = c.tokenId.slice()).buffer as ArrayBuffer);
    if (c.tokenText) out.tokenText = c.tokenText.slice();
    if (c.lookahead) buffers.push((out.lookahead = c.lookahead.slice()).buffer as ArrayBuffer);
    return out;
  });
  const manifest = { ...set.manifest, hasWeights: false, hasLogits: false };
  return { set: { manifest, chunks }, buffers };
}

const api: TraceWorkerApi = {
  async load(req: LoadRequest, onProgress: (p: LoadProgress) => void): Promise<LoadedInfo> {
    // Every file is parsed in a throwaway decode worker under a per-file time budget; it ends with the load.
    const decoder = new GuardedRunner(
      () => webWorkerHandle(new Worker(new URL('./decode.worker.ts', import.meta.url), { type: 'module', name: 'decode' })),
      PAGE_DECODE_BUDGET,
    );
    decoder.warm();
    // A set large enough for parallel analyses starts the helpers while it is still being read.
    const progress = (p: LoadProgress) => {
      if (p.tokens >= PARALLEL_MIN_TOKENS) pool.warm();
      onProgress(p);
    };
    try {
      const r = req.kind === 'url' ? await loadFromUrl(req.baseUrl, openShardCache(), progress, decoder) : await loadFromFiles(req.files, progress, decoder);
      current = r.set;
      return r.info;
    } finally {
      decoder.close();
    }
  },

  analyze: (datasets: string[]): Promise<AnalysisResult> =>
    exclusive(async () => {
      const set = loaded();
      const sel = resolveDatasets(set.manifest.datasets, datasets);
      const t0 = performance.now();
      const counts = await pool.analyze(set, sel.indices ? { datasets: new Set(sel.indices) } : {});
      const result: AnalysisResult = {
        ms: performance.now() - t0,
        threads: pool.stats.helperParts + 1,
        stats: statsFromCounts(counts, set),
        coactivation: counts.coactivation,
        transitions: counts.transitions,
        unknownDatasets: sel.unknown,
      };
      return transfer(result, [counts.coactivation.buffer as ArrayBuffer, counts.transitions.buffer as ArrayBuffer]);
    }),

  baselines: (req: SplitRequest): Promise<BaselineResult> =>
    exclusive(async () => {
      const { train, test, split: summary } = split(req);
      // Every baseline the trace allows: the lookahead gate only where it has lookahead logits for the task.
      return { ...(await scoreBaselines(train, test, req.task, req.seed)), split: summary };
    }),

  splitData: (req: SplitRequest): Promise<SplitData> =>
    exclusive(async () => {
      const { train, test, split: summary } = split(req);
      const a = routingOnly(train);
      const b = routingOnly(test);
      return transfer({ train: a.set, test: b.set, split: summary }, [...a.buffers, ...b.buffers]);
    }),

  tokens: (req: TokenRequest): Promise<TokenWindow> =>
    exclusive(async () => {
      const set = loaded();
      const w = tokenWindow(set, sequencesOf(set, req.datasets), req);
      const buffers = [w.seq, w.pos, w.dataset, w.experts, w.tokenId, w.weights].filter((a) => a !== null).map((a) => a.buffer as ArrayBuffer);
      return transfer(w, buffers);
    }),
};

expose(api);
