import { describe, expect, it } from 'vitest';
import { faultInjectionEnabled } from './faults';

const storage = (v: string | null) => ({ getItem: (k: string) => (k === 'speclab.faultInjection' ? v : null) });

describe('faultInjectionEnabled', () => {
  it('is on only for the exact browser setting, and off without storage or when storage throws', () => {
    expect(faultInjectionEnabled(storage('1'))).toBe(true);
    for (const v of [null, '', '0', 'true', '1 ', 'yes']) expect(faultInjectionEnabled(storage(v))).toBe(false);
    expect(faultInjectionEnabled(undefined)).toBe(false);
    expect(
      faultInjectionEnabled({
        getItem: () => {
          throw new Error('SecurityError');
        },
      }),
    ).toBe(false);
  });
});
