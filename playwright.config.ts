import { defineConfig } from '@playwright/test';
// One list of Chromium flags (WebGPU through SwiftShader, no background traffic) for e2e and regression runs.
import { CHROMIUM_ARGS, chromiumPath } from './src/regress/browser';

const isCI = Boolean(process.env.CI);

const BUILT = 'http://localhost:4173';
const DEV = 'http://localhost:5174';

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  forbidOnly: isCI,
  retries: 0,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 20_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: chromiumPath(),
      args: CHROMIUM_ARGS,
    },
    // Tracing costs ~2 s a test on this 2-core machine; record one with `npx playwright test --trace on`.
    trace: 'off',
  },
  webServer: [
    {
      // The built app, with the strict CSP of index.html.
      command: 'npx vite build --logLevel warn && npx vite preview --port 4173 --strictPort',
      url: BUILT,
      reuseExistingServer: !isCI,
      timeout: 120_000,
    },
    {
      // The dev server `npm start` runs (relaxed CSP, HMR), for a smoke test.
      command: 'npx vite --port 5174 --strictPort',
      url: DEV,
      reuseExistingServer: !isCI,
      timeout: 120_000,
    },
  ],
  projects: [
    { name: 'built', use: { baseURL: BUILT } },
    // A cold dev server pre-bundles dependencies on first load (~25 s on 2 cores with an empty node_modules/.vite).
    { name: 'dev', use: { baseURL: DEV }, testMatch: /summary\.spec\.ts/, timeout: 120_000 },
  ],
});
