/**
 * How much a `tollgate serve` process lets its heap grow between full garbage collections.
 *
 * V8 starts a full collection when the old generation, plus the memory outside the heap allocated
 * since the last one (Buffers: every request body, and every copy of one), nears a limit it derives
 * from the live heap. Left to itself, V8 set that limit only a few MB above Tollgate's ~33 MB of live
 * heap on the benchmark's machine, so a stream of 400 KB requests ran a full collection every 8–14 calls.
 * Each marks the whole heap: 15–30 ms of CPU there, about half of all the CPU those calls used. A limit
 * of twice the live heap (100 %) cut those collections from 80–108 to 11–35 per 10 s run, and CPU per
 * call from 10.3–13.4 ms to 4.2–5.9 ms, with small requests unchanged (`bench/gateway/README.md`, round
 * five). The cost is memory: the heap may hold up to twice what is live before it is collected. V8's
 * own choice ranges up to four times; 0 gives it back.
 */
import { setFlagsFromString } from 'node:v8';
import { wholeNumberFromEnv } from '../shared/env.ts';

/** The default of TOLLGATE_HEAP_GROWING_PERCENT: the heap may double between full collections. */
export const DEFAULT_HEAP_GROWING_PERCENT = 100;
const MAX_HEAP_GROWING_PERCENT = 1000;

/**
 * The heap growing percent TOLLGATE_HEAP_GROWING_PERCENT asks for (an integer from 0 to 1000; 0 leaves
 * V8's own heuristics); throws a message naming the variable for anything else.
 */
export function heapGrowingPercent(env: Record<string, string | undefined>): number {
  return wholeNumberFromEnv(
    env,
    'TOLLGATE_HEAP_GROWING_PERCENT',
    DEFAULT_HEAP_GROWING_PERCENT,
    0,
    MAX_HEAP_GROWING_PERCENT,
    `a whole number from 0 to ${MAX_HEAP_GROWING_PERCENT} (0: V8 decides)`,
  );
}

/** Applies `heapGrowingPercent(env)` to this process's V8 (a process-wide setting); answers it. */
export function tuneHeap(env: Record<string, string | undefined>): number {
  const percent = heapGrowingPercent(env);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
