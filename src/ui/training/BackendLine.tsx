import type { BackendReport } from '../../workers/trainingClient';

const TITLES: Record<string, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** Which tfjs backend trains, and why each better one was not used ("WebGPU unavailable: … — using wasm"). */
export function BackendLine({ backend }: { backend: BackendReport | null }) {
  if (!backend) return null;
  return (
    <div className="backend-line" data-testid="training-backend" data-backend={backend.backend}>
      <p>
        Training on <strong>{TITLES[backend.backend] ?? backend.backend}</strong>
        {backend.adapter && <span className="muted"> ({backend.adapter})</span>}
      </p>
      {backend.failures.map((f) => (
        <p key={f.backend} className="fallback" data-testid="backend-fallback">
          {TITLES[f.backend] ?? f.backend} unavailable: {f.reason} — using {backend.backend}
        </p>
      ))}
    </div>
  );
}
