/** Dedicated worker: reports whether WebGPU is usable off the main thread (where analyses will run). */
import { probeWebGpu } from './webgpuProbe';

void probeWebGpu().then((report) => postMessage(report));
