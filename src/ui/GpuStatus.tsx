import type { WebGpuReport } from '../workers/webgpuProbe';
import { useNotebook } from '../state/StoreContext';

function describe(report: WebGpuReport | null): string {
  if (!report) return 'checking…';
  if (!report.available) return `unavailable — ${report.reason}`;
  const who = `${report.vendor || 'unknown vendor'}/${report.architecture || 'unknown architecture'}`;
  return `available (${who}${report.fallback ? ', fallback adapter' : ''})`;
}

/** What this browser offers for training, before any run. */
export function GpuStatus() {
  const worker = useNotebook((s) => s.gpuWorker);
  const backends = worker?.available ? 'webgpu, webgl, wasm, cpu' : worker ? 'webgl, wasm, cpu' : '…';
  return (
    <section className="card backends" data-testid="backends">
      <h2>Compute backends</h2>
      <p data-testid="webgpu-worker" data-state={worker ? String(worker.available) : 'pending'}>
        WebGPU in a worker: {describe(worker)}
      </p>
      <p className="muted" data-testid="tfjs-backends">
        tfjs backends training can try here, best first: {backends}
      </p>
    </section>
  );
}
