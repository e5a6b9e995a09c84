import { defineConfig } from 'vitest/config';

const browserTests = 'packages/web/test/**/*.browser.test.ts';

export default defineConfig({
  // @tollgate/client from its sources (its package.json's `tollgate-source` condition: a name of our own, since other packages ship a `source` condition pointing at TypeScript they do not compile), not from its build.
  resolve: { conditions: ['tollgate-source'] },
  ssr: { resolve: { conditions: ['tollgate-source'], externalConditions: ['tollgate-source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The CLI tests run the built command: build it once before any test.
    globalSetup: ['scripts/vitest-global-setup.ts'],
    // Two projects so that `npm test` can run the Chromium tests after the rest, one file at a time: on a
    // 2-core machine, a browser competing with forty server suites for the CPU made them time out.
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          // Servers the tests start (in process or as a child process) check their answers against the reference.
          env: { TOLLGATE_CHECK_RESPONSES: '1' },
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
