/**
 * The InterLayer model's training step as one command buffer of WGSL compute passes on the tfjs WebGPU backend's
 * own GPUDevice: batch gather and embedding, the LSTM over the context with saved activations, head and loss,
 * backpropagation through time, global-norm clipping and AdamW. Nothing is read back during a step: the epoch's
 * loss and recall sums stay on the device until readStats().
 *
 * Parameters live in one flat buffer while training (layout.ts); loadParams() copies them in from the model's
 * tfjs variables and storeParams() writes them back as new tensors, so evaluation, prediction, export and
 * early-stopping snapshots keep using the ordinary tfjs model. The windows are read straight from the tfjs
 * tensors TrainingSession uploaded (float32 ids), so no second copy of the training set is made.
 *
 * Dropout masks come from a counter-based hash of (step seed, element) on the device; they follow the same
 * distribution as tf.dropout's but are not the same draws.
 */
import * as tf from '@tensorflow/tfjs';
import type { InterLayerModel, ModelShape } from '../interLayerModel';
import { fusedLayout, type FusedLayout } from './layout';
import { BIND, kernels } from './shaders';

/* Minimal WebGPU typings (the project does not depend on @webgpu/types). */
/* eslint-disable @typescript-eslint/no-explicit-any */
type GPUDevice = any;
type GPUBuffer = any;
type GPUComputePipeline = any;
type GPUBindGroup = any;

const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };

/** What the fused step needs from tfjs-backend-webgpu's WebGPUBackend (public members of its class). */
interface WebGpuBackendLike {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource?: GPUBuffer } };
  uploadToGPU(dataId: object): void;
  submitQueue(): void;
  endComputePassEncoder(): void;
  commandEncoder: unknown;
}

export interface FusedWindows {
  n: number;
  ctxExperts: tf.Tensor2D;
  ctxLayers: tf.Tensor2D;
  targetLayers: tf.Tensor2D;
  targets: tf.Tensor2D;
}

export interface FusedOptions {
  batchSize: number;
  weightDecay: number;
  clipNorm: number;
  dropout: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

interface Kernel {
  name: string;
  pipeline: GPUComputePipeline;
  groups: GPUBindGroup[];
  /** Workgroups (x, y). */
  grid: [number, number];
}

/** The tfjs WebGPU backend, when it is the active one; else null. */
export function activeWebGpuBackend(): WebGpuBackendLike | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = tf.backend() as unknown as Partial<WebGpuBackendLike>;
  const ok =
    b.device && b.tensorMap && typeof b.uploadToGPU === 'function' && typeof b.submitQueue === 'function' && typeof b.endComputePassEncoder === 'function';
  return ok ? (b as WebGpuBackendLike) : null;
}

function bindingType(kernel: string, b: number): 'uniform' | 'storage' | 'read-only-storage' {
  if (b === BIND.STEP || b === BIND.CTX) return 'uniform';
  if (b === BIND.WORK || b === BIND.GRAD || b === BIND.M || b === BIND.V || (b === BIND.P && kernel === 'adamw')) return 'storage';
  return 'read-only-storage';
}

function grid1d(threads: number, maxPerDim: number): [number, number] {
  const groups = Math.ceil(threads / 256);
  return groups <= maxPerDim ? [Math.max(1, groups), 1] : [maxPerDim, Math.ceil(groups / maxPerDim)];
}

export class FusedInterLayerTrainer {
  readonly layout: FusedLayout;
  private readonly device: GPUDevice;
  private readonly params: GPUBuffer;
  private readonly grads: GPUBuffer;
  private readonly moments: [GPUBuffer, GPUBuffer];
  private readonly work: GPUBuffer;
  private readonly stepUniform: GPUBuffer;
  private readonly ctxUniforms: GPUBuffer[];
  private readonly permBuffer: GPUBuffer;
  private readonly kernels: Map<string, Kernel>;
  private readonly stepData = new ArrayBuffer(64);
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  /** Updates applied so far (Adam's t). */
  iterations = 0;
  private disposed = false;
  /** Resolves with the validation or memory error of creating the buffers and pipelines, or null when all is well. */
  readonly ready: Promise<string | null>;

  constructor(
    private readonly backend: WebGpuBackendLike,
    readonly shape: ModelShape,
    private readonly windows: FusedWindows,
    private readonly opts: FusedOptions,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    const l = (this.layout = fusedLayout(shape, opts.batchSize));
    const dev = (this.device = backend.device);
    dev.pushErrorScope('out-of-memory');
    dev.pushErrorScope('validation');
    const storage = (floats: number, extra = 0) =>
      dev.createBuffer({ size: Math.max(16, floats * 4), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST | extra });
    this.params = storage(l.p.N);
    this.grads = storage(l.p.N);
    this.moments = [storage(l.p.N), storage(l.p.N)];
    this.work = storage(l.w.size);
    this.permBuffer = storage(Math.max(1, windows.n));
    this.stepUniform = dev.createBuffer({ size: 64, usage: USAGE.UNIFORM | USAGE.COPY_DST });
    this.ctxUniforms = Array.from({ length: l.C }, (_, s) => {
      const b = dev.createBuffer({ size: 16, usage: USAGE.UNIFORM | USAGE.COPY_DST });
      dev.queue.writeBuffer(b, 0, new Uint32Array([s, 0, 0, 0]));
      return b;
    });
    const win = [windows.ctxExperts, windows.ctxLayers, windows.targetLayers, windows.targets].map((t) => this.tensorBuffer(t));
    const resources: Record<number, (s: number) => object> = {
      [BIND.P]: () => ({ buffer: this.params }),
      [BIND.WORK]: () => ({ buffer: this.work }),
      [BIND.GRAD]: () => ({ buffer: this.grads }),
      [BIND.STEP]: () => ({ buffer: this.stepUniform }),
      [BIND.CTX]: (s) => ({ buffer: this.ctxUniforms[s] }),
      [BIND.PERM]: () => ({ buffer: this.permBuffer, size: Math.max(1, windows.n) * 4 }),
      [BIND.CTX_EXPERTS]: () => ({ buffer: win[0], size: Math.max(1, windows.n * l.C * l.K) * 4 }),
      [BIND.CTX_LAYERS]: () => ({ buffer: win[1], size: Math.max(1, windows.n * l.C) * 4 }),
      [BIND.TARGET_LAYERS]: () => ({ buffer: win[2], size: Math.max(1, windows.n * l.H) * 4 }),
      [BIND.TARGETS]: () => ({ buffer: win[3], size: Math.max(1, windows.n * l.H * l.K) * 4 }),
      [BIND.M]: () => ({ buffer: this.moments[0] }),
      [BIND.V]: () => ({ buffer: this.moments[1] }),
    };
    const maxPerDim = dev.limits.maxComputeWorkgroupsPerDimension as number;
    const tiles = (rows: number, cols: number): [number, number] => [Math.ceil(cols / 64), Math.ceil(rows / 64)];
    const grids: Record<string, [number, number]> = {
      embed: grid1d(Math.max(l.C * l.B * l.D, l.B), maxPerDim),
      forward: tiles(l.B, l.G),
      logits: tiles(l.B, l.NH),
      loss: [Math.ceil((l.B * l.HE) / 256), 1],
      backward: tiles(l.B, l.U),
      headGrad: tiles(l.U + 1, l.NH),
      lstmGrad: tiles(l.D + 1 + l.U, l.G),
      inputGrad: tiles(l.C * l.B, l.D),
      embedGrad: [l.E + l.L, Math.ceil(l.D / 32)],
      norm: [l.nPart + 1, 1],
      adamw: grid1d(l.p.N, maxPerDim),
    };
    this.kernels = new Map();
    for (const k of kernels(l)) {
      const module = dev.createShaderModule({ code: k.code, label: `fused-${k.name}` });
      // Explicit layouts: 'auto' would leave out bindings a kernel declares but does not use.
      const bindLayout = dev.createBindGroupLayout({
        entries: k.binds.map((b) => ({ binding: b, visibility: 0x4 /* COMPUTE */, buffer: { type: bindingType(k.name, b) } })),
      });
      const layout = dev.createPipelineLayout({ bindGroupLayouts: [bindLayout] });
      const pipeline = dev.createComputePipeline({ layout, compute: { module, entryPoint: 'main' }, label: `fused-${k.name}` });
      const group = (s: number) => dev.createBindGroup({ layout: bindLayout, entries: k.binds.map((b) => ({ binding: b, resource: resources[b](s) })) });
      const groups = k.perStep ? Array.from({ length: l.C }, (_, s) => group(s)) : [group(0)];
      this.kernels.set(k.name, { name: k.name, pipeline, groups, grid: grids[k.name] });
    }
    const scopes = [dev.popErrorScope(), dev.popErrorScope()] as Promise<{ message: string } | null>[];
    this.ready = Promise.all(scopes).then(
      (errs) =>
        errs
          .filter(Boolean)
          .map((e) => `fused training: ${e!.message}`)
          .join('; ') || null,
      (e: unknown) => `fused training: ${e instanceof Error ? e.message : String(e)}`,
    );
  }

  /** The GPUBuffer behind a tfjs tensor on the WebGPU backend (uploaded first if its values are still on the CPU). */
  private tensorBuffer(t: tf.Tensor): GPUBuffer {
    this.backend.uploadToGPU(t.dataId);
    const buf = this.backend.tensorMap.get(t.dataId).resource;
    if (!buf) throw new Error(`fused training: tensor ${t.shape.join('x')} has no GPU buffer`);
    return buf;
  }

  /** Submits whatever tfjs has recorded but not yet submitted, so the fused work is queued after it. */
  private flushTf(): void {
    if (!this.backend.commandEncoder) return;
    // tfjs keeps its compute pass open between kernels; it must end before the encoder is finished.
    this.backend.endComputePassEncoder();
    this.backend.submitQueue();
  }

  /** Copies the model's current weights into the flat parameter buffer. */
  loadParams(model: InterLayerModel): void {
    const enc = this.device.createCommandEncoder();
    for (const seg of this.layout.params) {
      const v = model.params.find((p) => p.name === seg.name);
      if (!v) throw new Error(`fused training: the model has no parameter ${seg.name}`);
      if (v.variable.size !== seg.size) throw new Error(`fused training: ${seg.name} has ${v.variable.size} values, expected ${seg.size}`);
      enc.copyBufferToBuffer(this.tensorBuffer(v.variable), 0, this.params, seg.offset * 4, seg.size * 4);
    }
    this.flushTf();
    this.device.queue.submit([enc.finish()]);
  }

  /** Writes the flat parameters back into the model's tfjs variables (as new tensors; nothing else shares them). */
  storeParams(model: InterLayerModel): void {
    const enc = this.device.createCommandEncoder();
    const staged = this.layout.params.map((seg) => {
      const buf = this.device.createBuffer({ size: seg.size * 4, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
      enc.copyBufferToBuffer(this.params, seg.offset * 4, buf, 0, seg.size * 4);
      return { seg, buf };
    });
    this.flushTf();
    this.device.queue.submit([enc.finish()]);
    for (const { seg, buf } of staged) {
      const p = model.params.find((q) => q.name === seg.name)!;
      // Copies the buffer into one tfjs owns (queued after the copy above).
      const t = tf.tensor({ buffer: buf } as unknown as tf.TensorLike, seg.shape, 'float32');
      p.variable.assign(t);
      t.dispose();
    }
    this.flushTf();
    for (const { buf } of staged) buf.destroy();
  }

  /** Uploads an epoch's window order and zeroes its loss and recall sums. */
  beginEpoch(perm: Int32Array): void {
    if (perm.length !== this.windows.n) throw new Error(`fused training: permutation of ${perm.length}, expected ${this.windows.n}`);
    if (perm.length) this.device.queue.writeBuffer(this.permBuffer, 0, perm);
    this.device.queue.writeBuffer(this.work, this.layout.w.stats * 4, new Float32Array(1 + this.layout.H));
  }

  /**
   * One optimizer step on windows perm[start .. start+size): forward, loss, backward, clipping and AdamW, as one
   * command buffer. `dropoutSeed` picks the step's masks.
   */
  step(start: number, size: number, lr: number, dropoutSeed: number): void {
    const l = this.layout;
    if (size < 1 || size > l.B || start + size > this.windows.n) throw new Error(`fused training: batch [${start}, ${start + size}) out of range`);
    this.iterations++;
    const t = this.iterations;
    const { beta1: b1, beta2: b2 } = this;
    const rate = this.opts.dropout;
    const u = new Uint32Array(this.stepData);
    const f = new Float32Array(this.stepData);
    u[0] = size;
    u[1] = start;
    u[2] = dropoutSeed >>> 0;
    f[3] = rate;
    f[4] = rate > 0 ? 1 / (1 - rate) : 1;
    f[5] = 1 / (size * l.HE);
    // Bias corrections folded into the step size, in float64, as adamw.ts does.
    f[6] = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    f[7] = this.epsilon * Math.sqrt(1 - b2 ** t);
    f[8] = 1 - lr * this.opts.weightDecay;
    f[9] = this.opts.clipNorm;
    f[10] = b1;
    f[11] = b2;
    u[12] = this.opts.weightDecay > 0 ? 1 : 0;
    this.device.queue.writeBuffer(this.stepUniform, 0, this.stepData);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const run = (name: string, s = 0) => {
      const k = this.kernels.get(name)!;
      pass.setPipeline(k.pipeline);
      pass.setBindGroup(0, k.groups[s]);
      pass.dispatchWorkgroups(k.grid[0], k.grid[1]);
    };
    run('embed');
    for (let s = 0; s < l.C; s++) run('forward', s);
    run('logits');
    run('loss');
    for (let s = l.C - 1; s >= 0; s--) run('backward', s);
    run('headGrad');
    run('lstmGrad');
    run('inputGrad');
    run('embedGrad');
    run('norm');
    run('adamw');
    pass.end();
    this.device.queue.submit([enc.finish()]);
  }

  private async read(buffer: GPUBuffer, offsetFloats: number, floats: number): Promise<Float32Array> {
    const staging = this.device.createBuffer({ size: floats * 4, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, offsetFloats * 4, staging, 0, floats * 4);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(USAGE.MAP_READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** The epoch's summed loss (mean per sample × samples) and recall hits per horizon step so far. */
  async readStats(): Promise<{ lossSum: number; hits: number[] }> {
    const s = await this.read(this.work, this.layout.w.stats, 1 + this.layout.H);
    return { lossSum: s[0], hits: Array.from(s.subarray(1)) };
  }

  /** The last step's gradients (before clipping), by parameter name (for tests). */
  async readGradients(): Promise<Record<string, Float32Array>> {
    const all = await this.read(this.grads, 0, this.layout.p.N);
    return Object.fromEntries(this.layout.params.map((s) => [s.name, all.slice(s.offset, s.offset + s.size)]));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [this.params, this.grads, ...this.moments, this.work, this.stepUniform, ...this.ctxUniforms, this.permBuffer]) b.destroy();
  }
}
