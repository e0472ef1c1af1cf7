/**
 * The parts of `eval`'s report on learned predictors that need the trained models themselves: each one's cost
 * (predictorCost.ts) under `cost`, and with `--export DIR` its export (exportModel.ts) written to DIR.
 */
import type { TaskSpec } from '../core/tasks/task';
import type { TraceSet } from '../core/trace/types';
import type { InterLayerConfig } from './config';
import { packageExport } from './exportModel';
import type { LearnedPredictor } from './interLayerPredictor';
import { inferenceBackend, measureCost } from './predictorCost';

export async function reportCostAndExport(
  learned: { name: string }[],
  results: Record<string, Record<string, unknown>>,
  train: TraceSet,
  test: TraceSet,
  task: TaskSpec,
  o: { config: InterLayerConfig; tfBackend: string; exportDir?: string; log: (line: string) => void },
): Promise<void> {
  for (const q of learned) {
    const p = q as LearnedPredictor;
    if (!p.exportModel || p.session?.state !== 'done') continue;
    const cost = await measureCost(p, test, task, { backend: inferenceBackend(p, o.tfBackend) });
    results[p.name].cost = cost;
    o.log(
      `${p.name}: ${cost.parameters.toLocaleString('en-US')} parameters, ${(cost.bytes / 1024).toFixed(0)} KiB; ${cost.inferenceMsPerToken.toFixed(3)} ms per token on ${cost.backend}` +
        (cost.layer ? ` (${cost.inferenceMsPerWindow.toFixed(4)} ms per window against ${cost.layer.ms.toFixed(3)} ms per ${cost.layer.model} layer)` : '') +
        '\n',
    );
    if (!o.exportDir) continue;
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const m = train.manifest;
    const { files } = packageExport(await p.exportModel({ set: test, task }), p.name, {
      trainedOn: {
        model: m.model.name,
        numLayers: m.numLayers,
        numExperts: m.numExperts,
        topK: m.topK,
        tokens: train.chunks.reduce((a, c) => a + c.tokens, 0),
      },
      hyperparameters: { ...o.config, context: task.context, horizon: task.horizon },
      metrics: Object.fromEntries(
        ['recallAtK', 'modelAloneRecallAtK', 'validationRecallAtK', 'blend']
          .filter((k) => results[p.name][k] !== undefined)
          .map((k) => [k, results[p.name][k]]),
      ),
      cost: { ...cost },
    });
    mkdirSync(o.exportDir, { recursive: true });
    for (const [file, bytes] of Object.entries(files)) writeFileSync(join(o.exportDir, file), bytes);
    o.log(`${p.name}: exported to ${join(o.exportDir, `${p.name}.json`)}\n`);
  }
}
