import { DEFAULT_BUDGET, type Budget } from '../workers/traceClient';

/**
 * Settings of this browser, not of an experiment (so never in a link): the load time budget can be lowered
 * with localStorage `speclab.loadStallMs` (tests use it to check the budget without waiting 20 s).
 */
export function loadBudget(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): Budget {
  const raw = Number(storage?.getItem('speclab.loadStallMs'));
  return Number.isInteger(raw) && raw >= 100 && raw <= 600_000 ? { ...DEFAULT_BUDGET, stallMs: raw } : DEFAULT_BUDGET;
}
