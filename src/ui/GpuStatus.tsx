import type { WebGpuReport } from '../workers/webgpuProbe';
import { useAppStore } from '../state/StoreContext';

function describe(report: WebGpuReport | null): string {
  if (!report) return 'checking…';
  if (!report.available) return `unavailable — ${report.reason}`;
  const who = `${report.vendor || 'unknown vendor'}/${report.architecture || 'unknown architecture'}`;
  return `available (${who}${report.fallback ? ', fallback adapter' : ''})`;
}

/** Which tfjs backends could run here; tfjs itself is not loaded on this page. */
export function GpuStatus() {
  const page = useAppStore((s) => s.gpuPage);
  const worker = useAppStore((s) => s.gpuWorker);
  const backends = page?.available ? 'webgpu, cpu' : page ? 'cpu' : '…';
  return (
    <section className="card backends" data-testid="backends">
      <h2>Compute backends</h2>
      <p data-testid="webgpu-page" data-state={page ? String(page.available) : 'pending'}>
        WebGPU: {describe(page)}
      </p>
      <p data-testid="webgpu-worker" data-state={worker ? String(worker.available) : 'pending'}>
        WebGPU in a worker: {describe(worker)}
      </p>
      <p className="muted" data-testid="tfjs-backends">
        tfjs backends usable on this page: {backends}
      </p>
    </section>
  );
}
