/**
 * The simulation's short run in CI: a few hundred steps of random clients, a lying provider, clock
 * jumps and crashes, with every invariant checked after every step (see simulator.ts). Fixed seeds, so
 * that a failure here replays exactly with `npm run simulate -- --seed N`; the long runs (random seeds,
 * thousands of steps) are run by hand, as README.md says.
 */
import { describe, expect, it } from 'vitest';
import { testBackends } from '../support/databases.ts';
import { simulate } from './simulator.ts';

const SEEDS = [8];
const STEPS = 150;

describe.each(testBackends())('simulation on $name', (backend) => {
  it.each(SEEDS)(
    'seed %i keeps every invariant through crashes, clock jumps and a lying provider',
    async (seed) => {
      const stats = await simulate({ seed, steps: STEPS, databaseUrl: backend.url });
      expect(stats.steps).toBe(STEPS);
      // The run did what it is for: calls were made, refused, lowered and cut short.
      expect(stats.gatewayCalls).toBeGreaterThan(10);
    },
    300_000,
  );
});
