import { existsSync } from 'node:fs';

/** Debian's Chromium; Playwright cannot download its own browsers on these machines. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags every headless run needs: WebGPU exposed (SwiftShader where there is no GPU) and no background traffic. */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** On a machine with a real GPU: let Dawn use it through Vulkan instead of falling back to SwiftShader. */
export const GPU_ARGS = ['--ignore-gpu-blocklist', '--use-angle=vulkan', '--enable-features=Vulkan,VulkanFromANGLE'];

export function chromiumPath(override?: string): string | undefined {
  if (override) return override;
  return existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined;
}
