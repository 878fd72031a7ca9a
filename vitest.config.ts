import { defineConfig } from 'vitest/config';

// Two groups, run one after the other: everything else first (two files at a time), then the
// network-namespace tests alone and one file at a time. Those measure real rates, loss and
// timing on shared kernel state, so a busy neighbour (another file's 200 MB loopback send) would
// make them measure the neighbour instead.
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts', 'codecs/**/*.test.ts'],
          exclude: ['test/netns/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'netns',
          include: ['test/netns/**/*.test.ts'],
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
