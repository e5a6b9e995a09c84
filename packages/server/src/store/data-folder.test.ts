import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DataFolderInUseError,
  LOCK_FILE_NAME,
  lockDataFolder,
  resolveDataFolder,
  strayDataFolders,
} from './data-folder.ts';

const folders: string[] = [];
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-folder-'));
  folders.push(root);
  writeFileSync(join(root, 'package-lock.json'), '{}');
  mkdirSync(join(root, 'packages', 'server'), { recursive: true });
  return root;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('resolveDataFolder: one folder whichever entry point', () => {
  it('the project root (nearest lock file) from the root, from a package, and under npm (INIT_CWD)', () => {
    const root = project();
    const expected = join(root, '.tollgate');
    expect(resolveDataFolder({}, root)).toBe(expected);
    expect(resolveDataFolder({}, join(root, 'packages', 'server'))).toBe(expected);
    // `npm start` from the root runs the package's script in packages/server, INIT_CWD = the root.
    expect(resolveDataFolder({ INIT_CWD: root }, join(root, 'packages', 'server'))).toBe(expected);
  });

  it('TOLLGATE_DATA_DIR wins, relative to where the command was started', () => {
    const root = project();
    expect(resolveDataFolder({ TOLLGATE_DATA_DIR: 'data' }, root)).toBe(join(root, 'data'));
    expect(resolveDataFolder({ TOLLGATE_DATA_DIR: '/srv/tollgate' }, root)).toBe('/srv/tollgate');
  });

  it('names a database an older version left in the package folder', () => {
    const root = project();
    const old = join(root, 'packages', 'server', '.tollgate');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'PG_VERSION'), '17');
    expect(strayDataFolders({}, join(root, 'packages', 'server'))).toEqual([old]);
    expect(strayDataFolders({}, root)).toEqual([]);
  });
});

describe('lockDataFolder', () => {
  it('writes its PID, refuses a folder a live process holds, takes over a stale lock, releases its own', () => {
    const folder = join(project(), 'data');
    mkdirSync(folder);
    // A live process (our parent) holds it.
    writeFileSync(join(folder, LOCK_FILE_NAME), JSON.stringify({ pid: process.ppid, command: 'serve' }));
    expect(() => lockDataFolder(folder, 'audit')).toThrow(DataFolderInUseError);
    expect(() => lockDataFolder(folder, 'audit')).toThrow(`is in use by PID ${process.ppid} (tollgate serve`);
    // A process that no longer exists: stale, taken over.
    writeFileSync(join(folder, LOCK_FILE_NAME), JSON.stringify({ pid: 2 ** 22 + 12_345, command: 'serve' }));
    const lock = lockDataFolder(folder, 'audit');
    expect(JSON.parse(readFileSync(join(folder, LOCK_FILE_NAME), 'utf8'))).toMatchObject({
      pid: process.pid,
      command: 'audit',
    });
    lock.release();
    expect(existsSync(join(folder, LOCK_FILE_NAME))).toBe(false);
  });
});
