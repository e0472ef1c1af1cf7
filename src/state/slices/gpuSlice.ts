import type { StateCreator } from 'zustand/vanilla';
import type { WebGpuReport } from '../../workers/webgpuProbe';
import type { NotebookState } from '../notebookStore';

export interface GpuSlice {
  /**
   * WebGPU in a dedicated worker (where training runs), null until the probe answers: tells people before any run
   * whether training can use the GPU. Probed off the main thread: requesting an adapter can block for tens of ms.
   */
  gpuWorker: WebGpuReport | null;
  setGpu(report: WebGpuReport): void;
}

export const createGpuSlice: StateCreator<NotebookState, [], [], GpuSlice> = (set) => ({
  gpuWorker: null,
  setGpu: (gpuWorker) => set({ gpuWorker }),
});
