/**
 * Picks the tfjs backend to train on: WebGPU first, then WebGL, WASM and the plain-JS CPU backend, and keeps
 * the reason each better one failed so the page (and the CLI) can say why it runs where it runs.
 */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, type BackendName } from './config';

export interface BackendFailure {
  backend: BackendName;
  reason: string;
}

export interface BackendReport {
  backend: BackendName;
  /** Backends tried before the chosen one, best first, with why each was not used. */
  failures: BackendFailure[];
  /** The GPU adapter, when the chosen backend is webgpu. */
  adapter?: string;
}

export interface BackendOptions {
  /**
   * Where the WASM backend finds its .wasm binaries (a folder URL ending in "/", or a map from file name to URL).
   * Bundled pages pass the URLs Vite emits; Node finds them next to the package without it.
   */
  wasmPaths?: string | Record<string, string>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: object): Promise<GpuAdapterLike | null>;
}

let nodeGpuTried: Promise<string | null> | null = null;

/**
 * In Node, WebGPU comes from Dawn (the `webgpu` npm package). It must be on `navigator.gpu` before
 * tfjs-backend-webgpu is imported, because that module registers the backend only if it sees a GPU then.
 * Returns null when installed, else why not.
 */
function installNodeGpu(): Promise<string | null> {
  nodeGpuTried ??= (async () => {
    try {
      // A variable specifier keeps bundlers from pulling the native Node addon into the page.
      const pkg = 'webgpu';
      const { create, globals } = (await import(/* @vite-ignore */ pkg)) as { create(flags: string[]): GpuLike; globals: object };
      Object.assign(globalThis, globals);
      const gpu = create([]);
      const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
      if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      return null;
    } catch (e) {
      return `the webgpu package (Dawn for Node) did not load: ${message(e)}`;
    }
  })();
  return nodeGpuTried;
}

async function probeAdapter(): Promise<{ adapter: string } | { reason: string }> {
  if (isNode) {
    const why = await installNodeGpu();
    if (why) return { reason: why };
  }
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return { reason: 'navigator.gpu is missing (no WebGPU in this browser or context)' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch((e: unknown) => {
    throw new Error(`requestAdapter() failed: ${message(e)}`);
  });
  if (!adapter) return { reason: 'requestAdapter() returned null (no usable GPU adapter)' };
  const i = adapter.info ?? {};
  return { adapter: [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unknown adapter' };
}

/** Loads and registers a backend's package; returns why not, or null. */
async function register(name: BackendName, opts: BackendOptions): Promise<string | null> {
  switch (name) {
    case 'cpu':
      return null; // bundled with @tensorflow/tfjs
    case 'webgl':
      if (isNode) return 'WebGL is not available in Node';
      return tf.findBackendFactory('webgl') ? null : 'the WebGL backend is not registered';
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (opts.wasmPaths !== undefined && !tf.findBackend('wasm')) wasm.setWasmPaths(opts.wasmPaths as Parameters<typeof wasm.setWasmPaths>[0]);
      return null;
    }
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return tf.findBackendFactory('webgpu') ? null : 'tfjs-backend-webgpu did not register (it found no navigator.gpu when loaded)';
  }
}

/**
 * tf.setBackend answers false on failure and only logs the cause with console.warn; capture those lines so the
 * reason reaches the user instead of the console. (The capture also drops the CPU backend's "install tfjs-node"
 * banner, which it prints at its first tensor, from the CLI's stderr.)
 */
async function setBackendCapturing(name: BackendName): Promise<string | null> {
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warned.push(args.map(String).join(' '));
  try {
    const ok = await tf.setBackend(name);
    if (!ok)
      return (
        warned
          .filter((w) => !/^Initialization of backend/.test(w))
          .join(' ')
          .split('\n')[0] || 'initialisation failed'
      );
    await tf.ready();
    // A backend can initialise and still fail at its first kernel (shader compile, lost device): run one.
    const t = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)));
    const v = await t.data();
    t.dispose();
    if (v[0] !== 2 || v[1] !== 3) return `a test computation gave wrong values (${Array.from(v).join(', ')})`;
    return null;
  } catch (e) {
    return message(e);
  } finally {
    console.warn = warn;
  }
}

/**
 * Selects the first backend of `preferred` (default webgpu, webgl, wasm, cpu) that initialises and computes
 * correctly. Throws, listing every reason, when none does.
 */
export async function initBackend(preferred: readonly BackendName[] = BACKEND_NAMES, opts: BackendOptions = {}): Promise<BackendReport> {
  const failures: BackendFailure[] = [];
  for (const name of preferred) {
    let adapter: string | undefined;
    let reason: string | null = null;
    try {
      if (name === 'webgpu') {
        const p = await probeAdapter();
        if ('reason' in p) reason = p.reason;
        else adapter = p.adapter;
      }
      reason ??= await register(name, opts);
      reason ??= await setBackendCapturing(name);
    } catch (e) {
      reason = message(e);
    }
    if (!reason) return { backend: name, failures, ...(adapter && { adapter }) };
    failures.push({ backend: name, reason });
  }
  throw new Error(`no tfjs backend could start: ${failures.map((f) => `${f.backend}: ${f.reason}`).join('; ')}`);
}

/** One line for people: "webgpu (NVIDIA ...)" or "cpu (webgpu: ...; wasm: ...)". */
export function describeBackend(r: BackendReport): string {
  const why = r.failures.map((f) => `${f.backend}: ${f.reason}`).join('; ');
  return `${r.backend}${r.adapter ? ` on ${r.adapter}` : ''}${why ? ` (not used: ${why})` : ''}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
