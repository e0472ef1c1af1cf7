/**
 * Fault injection for end-to-end tests: a lost WebGPU device under training, a crashed training or trace worker.
 * Off unless this browser's localStorage has `speclab.faultInjection` = "1" (a setting of the browser profile,
 * like `speclab.loadStallMs`): an experiment link cannot turn it on, and without it nothing is exposed.
 */
export type Fault = 'gpu-device' | 'training-worker' | 'trace-worker';

export const FAULTS: readonly Fault[] = ['gpu-device', 'training-worker', 'trace-worker'];

export function faultInjectionEnabled(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): boolean {
  try {
    return storage?.getItem('speclab.faultInjection') === '1';
  } catch {
    return false; // storage blocked
  }
}
