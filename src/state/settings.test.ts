import { describe, expect, it } from 'vitest';
import { DEFAULT_BUDGET } from '../workers/traceClient';
import { loadBudget } from './settings';

const storage = (v: string | null) => ({ getItem: () => v });

describe('loadBudget', () => {
  it('takes a sane stall budget from this browser, else the default', () => {
    expect(loadBudget(storage('1500'))).toEqual({ ...DEFAULT_BUDGET, stallMs: 1500 });
    for (const bad of [null, '', 'abc', '5', '1e9', '-100', '12.5']) expect(loadBudget(storage(bad))).toEqual(DEFAULT_BUDGET);
    expect(loadBudget(undefined)).toEqual(DEFAULT_BUDGET);
  });
});
