import type { WebGpuReport } from './webgpuProbe';

/** Starts webgpuProbe.worker.ts, waits for its one report, and stops it. */
export function probeWebGpuInWorker(timeoutMs = 15_000): Promise<WebGpuReport> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./webgpuProbe.worker.ts', import.meta.url), { type: 'module', name: 'webgpu-probe' });
    } catch (e) {
      resolve({ available: false, reason: `could not start a worker: ${e instanceof Error ? e.message : String(e)}` });
      return;
    }
    const done = (r: WebGpuReport) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => done({ available: false, reason: `the probe worker did not answer within ${timeoutMs / 1000} s` }), timeoutMs);
    worker.onmessage = (ev: MessageEvent<WebGpuReport>) => done(ev.data);
    worker.onerror = (ev) => {
      ev.preventDefault();
      done({ available: false, reason: `the probe worker failed: ${ev.message || 'script error'}` });
    };
  });
}
