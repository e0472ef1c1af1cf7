/**
 * Asks for a WebGPU adapter and reports what came back, without initialising tfjs.
 * Runs in the page and in a dedicated worker (webgpuProbe.worker.ts).
 */
export type WebGpuReport =
  { available: true; vendor: string; architecture: string; description: string; fallback: boolean } | { available: false; reason: string };

/** The slice of the WebGPU API used here (lib.dom of TypeScript 5.9 has no WebGPU types). */
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface AdapterLike {
  info?: AdapterInfoLike;
  requestAdapterInfo?: () => Promise<AdapterInfoLike>;
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(): Promise<AdapterLike | null>;
}

const TIMEOUT_MS = 10_000;

export async function probeWebGpu(): Promise<WebGpuReport> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) {
    const reason =
      globalThis.isSecureContext === false
        ? 'navigator.gpu is missing: the page is not a secure context (use https or localhost)'
        : 'navigator.gpu is missing: this browser has no WebGPU or it is disabled';
    return { available: false, reason };
  }
  try {
    const adapter = await withTimeout(gpu.requestAdapter(), TIMEOUT_MS);
    if (!adapter) return { available: false, reason: 'requestAdapter() returned null (no usable GPU adapter; blocklisted or disabled)' };
    const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
    return {
      available: true,
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      description: info.description ?? '',
      fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
    };
  } catch (e) {
    return { available: false, reason: `requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
