/**
 * The trace worker: holds one loaded trace set, decodes and imports off the main thread, and computes the
 * analyses and the baselines there. Large arrays go back as transferables. The page starts a fresh worker for
 * each input and keeps the previous one until the new input loaded (src/workers/traceClient.ts).
 */
import '../ui/zodJitless'; // before the manifest schema is built
import { expose, transfer } from 'comlink';
import { analyze, statsFromCounts } from '../core/analysis/stats';
import { filterDatasets, resolveDatasets } from '../core/experiment/datasets';
import { BASELINES } from '../core/predictors/baselines';
import { evaluate } from '../core/predictors/evaluate';
import { checkTask, splitBySequence } from '../core/tasks/task';
import { GuardedRunner, webWorkerHandle } from '../core/trace/guarded';
import type { TraceChunk, TraceSet } from '../core/trace/types';
import { openShardCache } from './shardCache';
import { loadFromFiles, loadFromUrl, PAGE_DECODE_BUDGET } from './traceLoad';
import type { AnalysisResult, BaselineResult, LoadedInfo, LoadProgress, LoadRequest, SplitData, SplitRequest, SplitSummary, TraceWorkerApi } from './traceProtocol';

let current: TraceSet | null = null;

function loaded(): TraceSet {
  if (!current) throw new Error('no trace set is loaded in this worker');
  return current;
}

function sequencesAndTokens(set: TraceSet): { sequences: number; tokens: number } {
  let sequences = 0;
  let tokens = 0;
  let last: number | undefined;
  for (const c of set.chunks) {
    tokens += c.tokens;
    for (let t = 0; t < c.tokens; t++)
      if (c.seq[t] !== last) {
        sequences++;
        last = c.seq[t];
      }
  }
  return { sequences, tokens };
}

function split(req: SplitRequest): { train: TraceSet; test: TraceSet; split: SplitSummary } {
  const set = loaded();
  const sel = resolveDatasets(set.manifest.datasets, req.datasets);
  if (sel.indices?.length === 0) throw new Error(`none of the datasets ${req.datasets.join(', ')} is in this trace set`);
  checkTask(set.manifest.numLayers, req.task);
  const { train, test } = splitBySequence(filterDatasets(set, sel.indices), req.testFraction, req.seed);
  const a = sequencesAndTokens(train);
  const b = sequencesAndTokens(test);
  return { train, test, split: { trainSequences: a.sequences, testSequences: b.sequences, trainTokens: a.tokens, testTokens: b.tokens } };
}

/** Only the routing columns, copied, so they can be transferred without detaching this worker's trace. */
function routingOnly(set: TraceSet): { set: TraceSet; buffers: ArrayBuffer[] } {
  const buffers: ArrayBuffer[] = [];
  const chunks = set.chunks.map((c): TraceChunk => {
    const out = { tokens: c.tokens, seq: c.seq.slice(), pos: c.pos.slice(), dataset: c.dataset.slice(), experts: c.experts.slice() };
    buffers.push(out.seq.buffer, out.pos.buffer, out.dataset.buffer, out.experts.buffer);
    return out;
  });
  const manifest = { ...set.manifest, hasWeights: false, hasLogits: false, hasTokenIds: false, hasTokenText: false };
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
    try {
      const r = req.kind === 'url' ? await loadFromUrl(req.baseUrl, openShardCache(), onProgress, decoder) : await loadFromFiles(req.files, onProgress, decoder);
      current = r.set;
      return r.info;
    } finally {
      decoder.close();
    }
  },

  async analyze(datasets: string[]): Promise<AnalysisResult> {
    const set = loaded();
    const sel = resolveDatasets(set.manifest.datasets, datasets);
    const counts = analyze(set, sel.indices ? { datasets: new Set(sel.indices) } : {});
    const result: AnalysisResult = {
      stats: statsFromCounts(counts, set),
      coactivation: counts.coactivation,
      transitions: counts.transitions,
      unknownDatasets: sel.unknown,
    };
    return transfer(result, [counts.coactivation.buffer, counts.transitions.buffer]);
  },

  async baselines(req: SplitRequest): Promise<BaselineResult> {
    const { train, test, split: summary } = split(req);
    const shape = loaded().manifest;
    const predictors = Object.values(BASELINES).map((make) => make(shape, req.seed));
    return { results: await evaluate(predictors, train, test, req.task), split: summary };
  },

  async splitData(req: SplitRequest): Promise<SplitData> {
    const { train, test, split: summary } = split(req);
    const a = routingOnly(train);
    const b = routingOnly(test);
    return transfer({ train: a.set, test: b.set, split: summary }, [...a.buffers, ...b.buffers]);
  },
};

expose(api);
