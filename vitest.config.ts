import { defineConfig } from 'vitest/config';

// Three kinds of test, one runner. Integration and e2e tests start real servers (sshd, the
// AWS simulator, Chromium) themselves, so they get longer timeouts and run one file at a time.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts', 'tests/sim/**/*.test.ts'],
          // Limits for a hang, not for speed: on a loaded machine one AWS CLI start alone can take
          // tens of seconds, and a test that makes several must still pass (issue 12).
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
