import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores: more workers than that only adds contention with moto_server.
    maxWorkers: 2,
    // The handlers' structured logs are for CloudWatch; in test output they bury the results.
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // The property tests replay hundreds of generated streams: seconds of CPU each, which a
          // busy two-core machine can stretch well past vitest's 5-second default.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
          env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
        },
      },
      {
        // fast-check over every event parser and the config loader (thousands of runs each).
        test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], testTimeout: 120_000 },
      },
      {
        // The deterministic simulator's own tests; `npm run simulate` runs the seeds.
        test: { name: 'sim', include: ['test/sim/**/*.test.ts'], testTimeout: 120_000 },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          // One file at a time: serverless-esbuild stages its zips in the service's .serverless/,
          // so a `serverless package` beside the deploy test's would take its artifacts away.
          fileParallelism: false,
          testTimeout: 300_000,
        },
      },
    ],
  },
});
