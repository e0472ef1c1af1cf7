import { describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from './backend';

describe('backend selection', () => {
  it('falls back, best first, and says why each better backend was not used', async () => {
    const r = await initBackend(['webgl', 'cpu']);
    expect(r.backend).toBe('cpu');
    expect(r.failures).toEqual([{ backend: 'webgl', reason: 'WebGL is not available in Node' }]);
    expect(describeBackend(r)).toBe('cpu (not used: webgl: WebGL is not available in Node)');
  });

  it('tries WebGPU through Dawn in Node and reports a missing adapter', async () => {
    const r = await initBackend(['webgpu', 'wasm']);
    if (r.backend === 'webgpu') {
      expect(r.adapter).toBeTruthy(); // a machine with a GPU
    } else {
      expect(r.backend).toBe('wasm');
      expect(r.failures[0].backend).toBe('webgpu');
      expect(r.failures[0].reason).toMatch(/adapter|webgpu|navigator\.gpu/i);
    }
  });

  it('throws with every reason when none starts', async () => {
    await expect(initBackend(['webgl'])).rejects.toThrow('no tfjs backend could start: webgl: WebGL is not available in Node');
  });
});
