import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // *.regress.ts drive the browser through src/regress/run.ts: only `npm run test:regress` runs them.
    include: process.env.SPECLAB_REGRESS ? ['src/**/*.regress.ts'] : ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    pool: 'forks',
  },
});
