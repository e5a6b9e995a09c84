/**
 * The embedded database's starting point, shipped with the built package: a PGlite data folder that
 * initdb created and every migration then filled, packed by the build into
 * `dist/baseline/pgdata-<fingerprint>.tar.gz`. A new data folder is unpacked from it instead of being
 * initialised: PGlite's initdb takes several seconds and leaves hundreds of MB of memory behind it,
 * unpacking takes a fraction of a second, and the first start is then like any restart.
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
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
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

/** Whether an archive matching this code is packaged. */
export function hasBaseline(directory = BASELINE_DIRECTORY): boolean {
  return existsSync(archivePath(directory));
}

const TAR_BLOCK_BYTES = 512;

function tarField(header: Buffer, start: number, length: number): string {
  const text = header.toString('latin1', start, start + length);
  const end = text.indexOf('\0');
  return end === -1 ? text : text.slice(0, end);
}

/**
 * Unpacks the matching archive into the new data folder `dataDir` with Node's own file calls (PGlite
 * can load an archive itself, but it unpacks it through its in-WASM file system: twice the time, and
 * memory it keeps). Returns false when no archive matches this code.
 */
export function unpackBaseline(dataDir: string, directory = BASELINE_DIRECTORY): boolean {
  const path = archivePath(directory);
  if (!existsSync(path)) return false;
  const archive = gunzipSync(readFileSync(path));
  const root = resolve(dataDir);
  // PG_VERSION is what marks a folder as a database (PGlite then opens instead of initialising):
  // written last, so an unpacking cut short leaves a folder that is initialised again, not a broken one.
  let version: Buffer | undefined;
  for (let offset = 0; offset + TAR_BLOCK_BYTES <= archive.length; ) {
    const header = archive.subarray(offset, offset + TAR_BLOCK_BYTES);
    if (header.every((byte) => byte === 0)) break;
    const prefix = tarField(header, 345, 155);
    const name = `${prefix ? `${prefix}/` : ''}${tarField(header, 0, 100)}`;
    const size = Number.parseInt(tarField(header, 124, 12).trim() || '0', 8);
    const mode = Number.parseInt(tarField(header, 100, 8).trim() || '600', 8) & 0o777;
    const type = tarField(header, 156, 1);
    const target = resolve(root, `.${sep}${name.replace(/^\/+/, '')}`);
    // An archive this build wrote; still, nothing lands outside the data folder.
    if (target !== root && !target.startsWith(`${root}${sep}`))
      throw new Error(`baseline entry outside the folder: ${name}`);
    const body = offset + TAR_BLOCK_BYTES;
    if (type === '5') {
      mkdirSync(target, { recursive: true, mode: mode || 0o700 });
    } else if ((type === '0' || type === '') && target === join(root, 'PG_VERSION')) {
      version = archive.subarray(body, body + size);
    } else if (type === '0' || type === '') {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, archive.subarray(body, body + size), { mode: mode || 0o600 });
    }
    offset = body + Math.ceil(size / TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES;
  }
  if (!version) throw new Error(`baseline ${path} holds no PG_VERSION`);
  writeFileSync(join(root, 'PG_VERSION'), version, { mode: 0o600 });
  return true;
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
