import { expect, test } from './fixtures';

interface AdapterFacts {
  vendor: string;
  architecture: string;
  doubled: number[];
}

test('WebGPU works in the page and in a dedicated worker', async ({ page }) => {
  await page.goto('/');

  // Straight from the page: an adapter, its info, and a tiny compute pass to show it really runs.
  const facts = await page.evaluate(async (): Promise<AdapterFacts | string> => {
    type Gpu = { requestAdapter(): Promise<any> };
    const gpu = (navigator as unknown as { gpu?: Gpu }).gpu;
    if (!gpu) return 'navigator.gpu missing';
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'requestAdapter() returned null';
    const device = await adapter.requestDevice();
    const input = new Float32Array([1, 2, 3, 4]);
    const storage = device.createBuffer({ size: input.byteLength, usage: 0x80 | 0x4 | 0x8 }); // STORAGE|COPY_SRC|COPY_DST
    device.queue.writeBuffer(storage, 0, input);
    const readback = device.createBuffer({ size: input.byteLength, usage: 0x1 | 0x8 }); // MAP_READ|COPY_DST
    const module = device.createShaderModule({
      code: '@group(0) @binding(0) var<storage, read_write> v: array<f32>;\n@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) i: vec3u) { v[i.x] = v[i.x] * 2.0; }',
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: storage } }] });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(storage, 0, readback, 0, input.byteLength);
    device.queue.submit([enc.finish()]);
    await readback.mapAsync(1); // GPUMapMode.READ
    const doubled = Array.from(new Float32Array(readback.getMappedRange().slice(0)));
    device.destroy();
    return { vendor: adapter.info?.vendor ?? '', architecture: adapter.info?.architecture ?? '', doubled };
  });
  expect(typeof facts, `WebGPU in the page: ${String(facts)}`).toBe('object');
  const { vendor, architecture, doubled } = facts as AdapterFacts;
  test.info().annotations.push({ type: 'adapter', description: `${vendor}/${architecture}` });
  expect(doubled).toEqual([2, 4, 6, 8]);
  if (architecture === 'swiftshader') expect(vendor).toBe('google');

  // What the app reports from its probe worker (src/workers/webgpuProbe.worker.ts); training runs in a worker too.
  const expected = `available (${vendor || 'unknown vendor'}/${architecture || 'unknown architecture'}`;
  await expect(page.getByTestId('webgpu-worker')).toHaveAttribute('data-state', 'true');
  await expect(page.getByTestId('webgpu-worker')).toContainText(expected);
  await expect(page.getByTestId('tfjs-backends')).toContainText('webgpu');
});
