/**
 * Which secrets encrypt provider keys, and where they come from.
 *
 * - `TOLLGATE_SECRET` (comma-separated for rotation: the first encrypts, all decrypt) — production.
 * - Without it, on the embedded database (a data folder): a generated secret in the file
 *   `tollgate-secret.key` (mode 0600) in the data folder, next to the database files rather than in
 *   them, announced loudly. Anyone who can read the folder can read the keys: set TOLLGATE_SECRET.
 * - Without it, on PostgreSQL or with NODE_ENV=production: storing a provider key is refused (503,
 *   reason `secret_not_configured`) — a key kept next to the data it protects protects nothing.
 *
 * Setting TOLLGATE_SECRET later never strands what was sealed before: the generated secrets (the
 * file's, and the database row older versions kept) stay in the box as decrypt-only keys, and
 * `tollgate secrets rotate` re-seals everything under the first secret.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../store/database.ts';
import { parseSecretList, SecretBox } from './crypto.ts';

export const SECRET_FILE_NAME = 'tollgate-secret.key';
const LEGACY_SETTING = 'generated_secret';

export interface LoadedSecrets {
  box: SecretBox;
  /** Signs test-mode checkout links: stable across restarts (and nodes, on PostgreSQL). */
  signingSecret: string;
  /** Where the secrets came from, in order, for messages (never the secrets). */
  sources: string[];
}

export interface LoadSecretsOptions {
  db: Database;
  env: Record<string, string | undefined>;
  /** The embedded database's folder; null for PostgreSQL or an in-memory database. */
  dataFolder: string | null;
  announce?: (message: string) => void;
}

async function legacySecret(db: Database): Promise<string | undefined> {
  const row = await db.kysely
    .selectFrom('settings')
    .select('value')
    .where('name', '=', LEGACY_SETTING)
    .executeTakeFirst();
  return row?.value;
}

/** A generated secret in the database: only for in-memory databases and for signing test checkouts. */
async function ensureLegacySecret(db: Database): Promise<string> {
  await db.kysely
    .insertInto('settings')
    .values({ name: LEGACY_SETTING, value: randomBytes(32).toString('base64url') })
    .onConflict((conflict) => conflict.doNothing())
    .execute();
  return (await legacySecret(db))!;
}

function readOrCreateSecretFile(
  path: string,
  seed: string | undefined,
): { secret: string; created: boolean } {
  if (existsSync(path)) return { secret: readFileSync(path, 'utf8').trim(), created: false };
  const secret = seed ?? randomBytes(32).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { secret, created: true };
}

export async function loadSecrets({
  db,
  env,
  dataFolder,
  announce,
}: LoadSecretsOptions): Promise<LoadedSecrets> {
  const configured = parseSecretList(env.TOLLGATE_SECRET);
  const legacy = await legacySecret(db);
  const filePath = dataFolder ? join(dataFolder, SECRET_FILE_NAME) : null;
  let fileSecret = filePath && existsSync(filePath) ? readFileSync(filePath, 'utf8').trim() : undefined;
  const production = db.kind === 'postgres' || env.NODE_ENV === 'production';

  if (configured.length > 0) {
    const secrets = [
      ...new Set([...configured, ...(fileSecret ? [fileSecret] : []), ...(legacy ? [legacy] : [])]),
    ];
    return {
      box: new SecretBox(secrets),
      signingSecret: configured[0]!,
      sources: [
        ...configured.map((_, index) => `TOLLGATE_SECRET #${index + 1}`),
        ...(fileSecret ? [filePath!] : []),
        ...(legacy ? ['the generated secret in the database'] : []),
      ],
    };
  }

  if (production) {
    // Provider keys sealed earlier under the database's generated secret still open; no new ones.
    const signingSecret = legacy ?? (await ensureLegacySecret(db));
    announce?.(
      'TOLLGATE_SECRET is not set: storing provider keys is refused (customers get 503 secret_not_configured). ' +
        'Set TOLLGATE_SECRET to a long random string (e.g. `openssl rand -base64 32`).',
    );
    return {
      box: new SecretBox(legacy ? [legacy] : [], {
        sealing: false,
        cannotSealReason:
          'This server cannot store provider keys: its operator has not set TOLLGATE_SECRET (required with PostgreSQL or NODE_ENV=production).',
      }),
      signingSecret,
      sources: legacy ? ['the generated secret in the database (decrypt only)'] : [],
    };
  }

  if (filePath && dataFolder) {
    mkdirSync(dataFolder, { recursive: true });
    // An older start kept its generated secret in the database: move on with that one, so the keys it sealed still open.
    const { secret, created } = readOrCreateSecretFile(filePath, legacy);
    fileSecret = secret;
    announce?.(
      `WARNING: TOLLGATE_SECRET is not set: provider keys are encrypted with a generated secret in ${filePath}${created ? ' (just created)' : ''}. ` +
        'Anyone who can read the data folder can read them. For production set TOLLGATE_SECRET (keys stored so far stay readable; `tollgate secrets rotate` re-encrypts them).',
    );
    const secrets = [...new Set([fileSecret, ...(legacy ? [legacy] : [])])];
    return { box: new SecretBox(secrets), signingSecret: fileSecret, sources: [filePath] };
  }

  // In memory (tests, benchmarks): a generated secret in the database, as good as the database.
  const secret = legacy ?? (await ensureLegacySecret(db));
  announce?.(
    'TOLLGATE_SECRET is not set: provider keys are encrypted with a generated key stored in the database.',
  );
  return {
    box: new SecretBox(secret),
    signingSecret: secret,
    sources: ['the generated secret in the database'],
  };
}

/**
 * Re-seals every stored provider key under the box's first secret (OAuth verifiers live minutes and
 * are left to expire). Returns how many were re-sealed and how many were already under it.
 */
export async function rotateSealedValues(
  db: Database,
  box: SecretBox,
): Promise<{ resealed: number; current: number }> {
  let resealed = 0;
  let current = 0;
  const keys = await db.kysely
    .selectFrom('provider_keys')
    .select(['customer_id', 'provider', 'ciphertext'])
    .execute();
  for (const row of keys) {
    const associatedData = `${row.customer_id}/${row.provider}`;
    const { plaintext, index } = box.openWithIndex(row.ciphertext, associatedData);
    if (index === 0) {
      current += 1;
      continue;
    }
    await db.kysely
      .updateTable('provider_keys')
      .set({ ciphertext: box.seal(plaintext, associatedData) })
      .where('customer_id', '=', row.customer_id)
      .where('provider', '=', row.provider)
      .where('ciphertext', '=', row.ciphertext)
      .execute();
    resealed += 1;
  }
  return { resealed, current };
}
