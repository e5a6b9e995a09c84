/**
 * TOLLGATE_SECRET as an operator lives with it: a first start without it (a generated secret in a
 * 0600 file, announced), setting it later (keys stored before still decrypt — no 500 on the next
 * hold), rotating (`new,old`, then `tollgate secrets rotate`, then `new` alone), and production
 * without it (storing a key is refused with a clear 503).
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgate, type Tollgate } from '../src/app.ts';
import { SECRET_FILE_NAME } from '../src/byok/secrets.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { ADMIN_KEY } from './support/server.ts';

const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
const CUSTOMER_KEY = 'fal-key-0123456789abcdef';

function rotate(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'secrets', 'rotate'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('provider-key secrets: generated, set later, rotated', () => {
  let folder: string;
  let dataDir: string;
  let fal: FakeUpstream;
  let customerId: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tollgate-secrets-'));
    dataDir = join(folder, 'data');
    fal = await startFakeUpstream({ acceptedKeys: [CUSTOMER_KEY] });
  });
  afterAll(async () => {
    await fal?.close();
    await rm(folder, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>, announced: string[] = []): Promise<Tollgate> {
    return createTollgate({
      dataDir,
      sweeper: false,
      announce: (message) => announced.push(message),
      env: { TOLLGATE_ADMIN_KEY: ADMIN_KEY, FAL_BASE_URL: fal.url, ...env },
    });
  }

  /** Over HTTP, as the gateway and the customer see it: the key is there and decrypts. */
  async function storedKey(tollgate: Tollgate): Promise<string | null> {
    const address = await tollgate.listen(0);
    const listed = await fetch(`${address}/v1/customers/${customerId}/provider-keys/fal`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(listed.status).toBe(200);
    return tollgate.services.providerKeys.fundingKey(customerId, null, 'fal');
  }

  it('first start without TOLLGATE_SECRET: a generated secret in a 0600 file outside the database, announced', async () => {
    const announced: string[] = [];
    const tollgate = await start({}, announced);
    try {
      const path = join(dataDir, SECRET_FILE_NAME);
      expect(existsSync(path)).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(announced.join('\n')).toContain(
        `WARNING: TOLLGATE_SECRET is not set: provider keys are encrypted with a generated secret in ${path}`,
      );
      const address = await tollgate.listen(0);
      const post = async (url: string, key: string, body: unknown, method = 'POST') =>
        (
          await fetch(`${address}${url}`, {
            method,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json() as Promise<Record<string, any>>;
      const app = await post('/v1/apps', ADMIN_KEY, { name: 'secrets' });
      const customer = await post('/v1/customers', app.secret_key, { external_id: 'byok' });
      customerId = customer.id;
      const stored = await post(
        `/v1/customers/${customerId}/provider-keys/fal`,
        app.secret_key,
        { key: CUSTOMER_KEY },
        'PUT',
      );
      expect(stored).toMatchObject({ provider: 'fal' });
      const rows = await tollgate.db.query<{ value: string }>(
        "select value from settings where name = 'generated_secret'",
      );
      expect(rows).toEqual([]); // the secret is not in the database
    } finally {
      await tollgate.close();
    }
  });

  it('setting TOLLGATE_SECRET later: the key stored before still decrypts; rotate moves it; then the file can go', async () => {
    const first = await start({ TOLLGATE_SECRET: 'the-new-secret-0123456789' });
    try {
      expect(await storedKey(first)).toBe(CUSTOMER_KEY);
    } finally {
      await first.close();
    }
    const rotated = await rotate({
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_SECRET: 'the-new-secret-0123456789',
    });
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('Re-encrypted 1 provider key with TOLLGATE_SECRET');
    await rm(join(dataDir, SECRET_FILE_NAME));
    const second = await start({ TOLLGATE_SECRET: 'the-new-secret-0123456789' });
    try {
      expect(await storedKey(second)).toBe(CUSTOMER_KEY);
    } finally {
      await second.close();
    }
  });

  it('rotation: TOLLGATE_SECRET=newer,new decrypts both; after rotate the newer one alone suffices; a wrong one is a clear error', async () => {
    const both = await start({ TOLLGATE_SECRET: 'the-newer-secret-0123456789, the-new-secret-0123456789' });
    try {
      expect(await storedKey(both)).toBe(CUSTOMER_KEY);
    } finally {
      await both.close();
    }
    const rotated = await rotate({
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_SECRET: 'the-newer-secret-0123456789,the-new-secret-0123456789',
    });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('Re-encrypted 1 provider key');
    const alone = await start({ TOLLGATE_SECRET: 'the-newer-secret-0123456789' });
    try {
      expect(await storedKey(alone)).toBe(CUSTOMER_KEY);
    } finally {
      await alone.close();
    }
    const wrong = await start({ TOLLGATE_SECRET: 'an-unrelated-secret-0123456789' });
    try {
      await expect(wrong.services.providerKeys.reveal(customerId, 'fal')).rejects.toThrow(
        /TOLLGATE_SECRET=new,old/,
      );
    } finally {
      await wrong.close();
    }
  });

  it('production (NODE_ENV=production) without TOLLGATE_SECRET: storing a key is refused with 503 secret_not_configured', async () => {
    const announced: string[] = [];
    const tollgate = await createTollgate({
      dataDir: 'memory://',
      sweeper: false,
      announce: (message) => announced.push(message),
      env: { TOLLGATE_ADMIN_KEY: ADMIN_KEY, FAL_BASE_URL: fal.url, NODE_ENV: 'production' },
    });
    try {
      expect(announced.join('\n')).toContain('TOLLGATE_SECRET is not set: storing provider keys is refused');
      const address = await tollgate.listen(0);
      const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
      const app = await (
        await fetch(`${address}/v1/apps`, { method: 'POST', headers, body: JSON.stringify({ name: 'p' }) })
      ).json();
      const customer = await (
        await fetch(`${address}/v1/customers`, {
          method: 'POST',
          headers: { ...headers, authorization: `Bearer ${app.secret_key}` },
          body: JSON.stringify({ external_id: 'p' }),
        })
      ).json();
      const refused = await fetch(`${address}/v1/customers/${customer.id}/provider-keys/fal`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ key: CUSTOMER_KEY }),
      });
      expect(refused.status).toBe(503);
      const body = await refused.json();
      expect(body.error).toMatchObject({ code: 'unavailable', reason: 'secret_not_configured' });
      expect(body.error.message).toContain('TOLLGATE_SECRET');
    } finally {
      await tollgate.close();
    }
  });
});
