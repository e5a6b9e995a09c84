/**
 * The embedded database's starting point, shipped with the built package: a PGlite data folder that
 * initdb created and every migration then filled, packed by the build into
 * `dist/baseline/pgdata-<fingerprint>.tar.gz`. A new data folder is unpacked from it instead of being
 * initialised: PGlite's initdb takes several seconds and leaves hundreds of MB of memory behind it,
 * unpacking takes a fraction of a second.
 *
 * The fingerprint covers PGlite's minor version (0.5: one PostgreSQL major version and data format,
 * which a data folder keeps across PGlite's patch releases, like any folder made before an upgrade)
 * and the text of every migration, so an archive is used only with the migrations that made it;
 * anything else (run from the sources, a changed migration) initialises the folder as before.
 * Migrations still run after it (none is pending when it matched).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS } from './migrate.ts';

/** `baseline/` beside the bundled server code (dist/baseline/); absent when run from the sources. */
export const BASELINE_DIRECTORY = fileURLToPath(new URL('./baseline/', import.meta.url));

/** PGlite's major.minor version (`0.5`). */
function pgliteMinorVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'));
  return String(version).split('.').slice(0, 2).join('.');
}

/** What the archive must have been made from: this PGlite data format, these migrations. */
export function baselineFingerprint(): string {
  const hash = createHash('sha256').update(`pglite ${pgliteMinorVersion()}\n`);
  for (const [name, migration] of Object.entries(MIGRATIONS)) hash.update(`${name}\n${migration.up}\n`);
  return hash.digest('hex').slice(0, 16);
}

function archivePath(directory: string): string {
  return join(directory, `pgdata-${baselineFingerprint()}.tar.gz`);
}

/** The archive for a new data folder, or undefined when none matches this code. */
export function findBaseline(directory = BASELINE_DIRECTORY): Blob | undefined {
  const path = archivePath(directory);
  return existsSync(path) ? new Blob([readFileSync(path)]) : undefined;
}

/** The build: initialises a database in memory, migrates it, and writes its archive. */
export async function writeBaseline(directory = BASELINE_DIRECTORY): Promise<string> {
  const { openDatabase, pgliteInstance } = await import('./database.ts');
  const { migrateToLatest } = await import('./migrate.ts');
  const db = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrateToLatest(db.kysely);
    // A checkpoint first, so the archive holds the tables themselves rather than WAL to replay.
    await db.query('checkpoint');
    const archive = await pgliteInstance(db).dumpDataDir('gzip');
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    const path = archivePath(directory);
    writeFileSync(path, Buffer.from(await archive.arrayBuffer()));
    return path;
  } finally {
    await db.close();
  }
}
