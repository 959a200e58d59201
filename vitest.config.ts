import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: run test files two at a time; each starts its own servers on random ports. A fork
    // keeps the modules it has loaded for its next file (no isolation): loading the app once per file
    // was about a third of the suite's time. Tests share no state through modules: each builds its own
    // app, database and key prefix.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
    reporters: ['default'],
  },
});
