import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.ts';

/** A runner that records the batches it was given and answers each operation with itself × 10. */
function recordingRunner(delayMs = 1) {
  const batches: number[][] = [];
  const run = async (operations: number[]) => {
    batches.push([...operations]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return operations.map((operation) => operation * 10);
  };
  return { batches, run };
}

describe('Batcher', () => {
  it('sends what is submitted in the same turn as one batch', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(run, 1);
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((operation) => batcher.submit(operation)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70, 80]);
    expect(batches).toEqual([[1, 2, 3, 4, 5, 6, 7, 8]]);
  });

  it('shares the queue evenly between the free slots', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(run, 2);
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((operation) => batcher.submit(operation)));
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7],
    ]);
  });

  it('keeps callers together: those woken by a batch go in the next one together, not first-come alone', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(run, 1);
    // Eight clients, each doing two dependent operations (like a hold then its capture).
    await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map(async (client) => {
        const first = await batcher.submit(client);
        await batcher.submit(first + 1);
      }),
    );
    expect(batches.map((batch) => batch.length)).toEqual([8, 8]);
  });

  it('keeps operations with the same key in one batch, and splits different keys between the slots', async () => {
    const { batches, run } = recordingRunner();
    const byTens = new Batcher(run, 2, 256, (operation: number) => String(Math.floor(operation / 10)));
    await Promise.all([11, 12, 13, 14, 15, 16, 17, 18].map((operation) => byTens.submit(operation)));
    expect(batches).toEqual([[11, 12, 13, 14, 15, 16, 17, 18]]);
    batches.length = 0;
    await Promise.all([11, 21, 12, 31, 13, 41, 14, 51].map((operation) => byTens.submit(operation)));
    expect(batches).toEqual([
      [11, 12, 13, 14],
      [21, 31, 41, 51],
    ]);
    batches.length = 0;
    const unkeyed = new Batcher(run, 2, 256, () => undefined);
    await Promise.all([1, 2, 3, 4, 5, 6].map((operation) => unkeyed.submit(operation)));
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('never makes a batch larger than its maximum, even for one key', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(run, 2, 3, () => 'same');
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((operation) => batcher.submit(operation)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(Math.max(...batches.map((batch) => batch.length))).toBe(3);
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('never runs more batches at once than allowed, and drains', async () => {
    let running = 0;
    let most = 0;
    const batcher = new Batcher(async (operations: number[]) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running -= 1;
      return operations;
    }, 3);
    const submitted = Array.from({ length: 50 }, (_, index) => batcher.submit(index));
    await batcher.drain();
    expect(await Promise.all(submitted)).toEqual(Array.from({ length: 50 }, (_, index) => index));
    expect(most).toBe(3);
  });

  it('runs each operation of a failed batch alone, so that one bad operation fails only itself', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher(async (operations: number[]) => {
      batches.push([...operations]);
      if (operations.includes(3)) throw new Error('bad operation');
      return operations;
    }, 1);
    const results = await Promise.allSettled([1, 2, 3, 4].map((operation) => batcher.submit(operation)));
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(batches[0]).toEqual([1, 2, 3, 4]);
  });
});
