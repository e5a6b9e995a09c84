import { defineConfig } from 'vitest/config';

const browserTests = 'packages/web/test/**/*.browser.test.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two projects so that `npm test` can run the Chromium tests after the rest, one file at a time: on a
    // 2-core machine, a browser competing with forty server suites for the CPU made them time out.
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: [browserTests, '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: { name: 'browser', include: [browserTests] },
      },
      {
        // Real coding-agent CLIs (large installs) against Tollgate: `npm run test:agents`, not `npm test`.
        extends: true,
        test: { name: 'agents', include: ['packages/*/test/agents/**/*.agent-test.ts'] },
      },
    ],
  },
});
