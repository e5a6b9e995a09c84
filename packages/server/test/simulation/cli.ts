/**
 * `npm run simulate -- [--seed N] [--steps N] [--seeds N] [--verbose]`: runs the simulation (a long run
 * by default), on PostgreSQL when DATABASE_URL is set, else PGlite. A failing seed prints the step and
 * the command that replays it.
 */
import { parseArgs } from 'node:util';
import { SimulationFailure, simulate } from './simulator.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string', default: '1' },
    steps: { type: 'string', default: '2000' },
    verbose: { type: 'boolean', default: false },
  },
});
const firstSeed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const seeds = Number(values.seeds);
const steps = Number(values.steps);
let failed = false;
for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
  const started = Date.now();
  try {
    const stats = await simulate({
      seed,
      steps,
      databaseUrl: process.env.DATABASE_URL,
      log: values.verbose ? (line) => console.log(line) : undefined,
    });
    console.log(
      `seed ${seed}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s ${JSON.stringify(stats)}`,
    );
  } catch (error) {
    failed = true;
    console.error(error instanceof SimulationFailure ? error.message : error);
  }
}
process.exitCode = failed ? 1 : 0;
