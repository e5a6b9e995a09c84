import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase, testBackends } from '../../test/support/databases.ts';

describe.each(testBackends())('database on $name', (backend) => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await openTestDatabase(backend, { poolSize: 2 });
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it('runs a prepared statement again and again, on every connection, with new parameters', async () => {
    const sql = 'select $1::int + 1 as next, current_schema() as schema';
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        testDb.db.query<{ next: number; schema: string }>(sql, [index], { prepare: 'test_next' }),
      ),
    );
    expect(results.map((rows) => rows[0]!.next)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(results.map((rows) => rows[0]!.schema))).toEqual(new Set([testDb.schema ?? 'public']));
  });
});
