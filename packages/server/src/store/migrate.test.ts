import { describe, expect, it } from 'vitest';
import { openTestDatabase, testBackends } from '../../test/support/databases.ts';

const postgres = testBackends().find((backend) => backend.name === 'postgres');

describe.skipIf(!postgres)('migrations on PostgreSQL', () => {
  it('migrates a schema while another schema already has its migration tables', async () => {
    const first = await openTestDatabase(postgres!);
    try {
      const second = await openTestDatabase(postgres!);
      try {
        const rows = await second.db.query<{ table_name: string }>(
          `select table_name from information_schema.tables where table_schema = $1 and table_name like 'kysely_%'
           order by table_name`,
          [second.schema],
        );
        expect(rows.map((row) => row.table_name)).toEqual(['kysely_migration', 'kysely_migration_lock']);
        expect(await second.db.query('select id from customers limit 1')).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });
});
