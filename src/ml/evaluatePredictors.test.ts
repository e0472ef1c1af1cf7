// The choice on validation prepares the baselines that read the set they score (the lookahead gate).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dirSource } from '../cli/fsTrace';
import { makeBaseline } from '../core/predictors/registry';
import { DEFAULT_TASK } from '../core/tasks/task';
import { readTraceSet } from '../core/trace/read';
import { chooseOnValidation, evaluatePredictors } from './evaluatePredictors';

const DEMO = fileURLToPath(new URL('../../traces/demo/', import.meta.url));

describe('the lookahead gate in evaluation and in the choice on validation', () => {
  it('is prepared on the set it scores in both, and chosen on the demo set where it is best', async () => {
    const set = await readTraceSet(dirSource(DEMO));
    const names = ['markov', 'temporal', 'lookahead'];
    const chosen = await chooseOnValidation(
      names.map((n) => makeBaseline(n, set.manifest, 0)),
      [],
      set,
      DEFAULT_TASK,
      0.3,
      0,
    );
    expect(Object.keys(chosen!.candidates)).toEqual(names);
    expect(chosen!.name).toBe('lookahead');
    const r = await evaluatePredictors(
      names.map((n) => makeBaseline(n, set.manifest, 0)),
      set,
      set,
      DEFAULT_TASK,
    );
    expect(r.lookahead.recallAtK[0]).toBeGreaterThan(r.markov.recallAtK[0]);
  });
});
