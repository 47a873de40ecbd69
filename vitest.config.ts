import { defineConfig } from 'vitest/config';

// Tests run against the real local stack (scripts/stack.sh); each test file makes its own
// topics, consumer groups and database schemas, so files can run in parallel.
export default defineConfig({
  test: {
    include: [
      'libs/*/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'cli/test/**/*.test.ts',
      'e2e/**/*.test.ts',
    ],
    pool: 'forks',
    maxWorkers: 3,
    // Generous: tests drive real processes (dvc, DuckDB, six services) on a two-core machine, and a
    // loaded run may take twice its quiet time. Speed is measured in bench/, not here.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    globalSetup: ['libs/testing/src/global-setup.ts'],
  },
});
