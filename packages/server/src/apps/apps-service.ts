/**
 * Apps are the partners that sell through Tollgate: each has a publishable key (browser), a secret key
 * (backend), a referral rate (its share on top of provider cost, seed 004) and optionally a list of
 * models its users may call. Each app owns a referral account in the ledger.
 */
import { generateKey, hashKey, keyHint } from '../auth/keys.ts';
import { newId } from '../shared/ids.ts';
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';

export interface App {
  id: string;
  name: string;
  referralRatePpm: bigint;
  allowedModels: string[] | null;
  createdAt: Date;
}

export interface CreatedApp extends App {
  publishableKey: string;
  secretKey: string;
}

export function referralAccountId(appId: string): string {
  return `ref:${appId}`;
}

export class AppsService {
  private readonly cache = new Map<string, { app: App; expiresAt: number }>();

  constructor(private readonly db: Database) {}

  async create(input: { name: string; referralRatePpm: bigint; allowedModels: string[] | null }): Promise<CreatedApp> {
    const id = newId('app', 12);
    const publishableKey = generateKey('publishable');
    const secretKey = generateKey('secret');
    await this.db.kysely.transaction().execute(async (transaction) => {
      await transaction
        .insertInto('apps')
        .values({
          id,
          name: input.name,
          referral_rate_ppm: input.referralRatePpm,
          allowed_models: input.allowedModels ? JSON.stringify(input.allowedModels) : null,
        })
        .execute();
      await transaction
        .insertInto('ledger_accounts')
        .values({ id: referralAccountId(id), kind: 'referral', app_id: id })
        .execute();
      await transaction
        .insertInto('api_keys')
        .values([
          { id: newId('key'), kind: 'publishable', key_hash: hashKey(publishableKey), key_hint: keyHint(publishableKey), app_id: id, customer_id: null, revoked_at: null },
          { id: newId('key'), kind: 'secret', key_hash: hashKey(secretKey), key_hint: keyHint(secretKey), app_id: id, customer_id: null, revoked_at: null },
        ])
        .execute();
    });
    const app = await this.get(id);
    return { ...app, publishableKey, secretKey };
  }

  /** The app, cached briefly: it is read on every gate and gateway request. */
  async get(id: string): Promise<App> {
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.expiresAt > now) return cached.app;
    const row = await this.db.kysely.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new TollgateError('not_found', `No such app: ${id}`);
    const app: App = {
      id: row.id,
      name: row.name,
      referralRatePpm: BigInt(row.referral_rate_ppm),
      allowedModels: (row.allowed_models as string[] | null) ?? null,
      createdAt: new Date(row.created_at),
    };
    this.cache.set(id, { app, expiresAt: now + 5_000 });
    return app;
  }

  async list(): Promise<App[]> {
    const rows = await this.db.kysely.selectFrom('apps').select('id').orderBy('created_at').execute();
    return Promise.all(rows.map((row) => this.get(row.id)));
  }

  /** Refuses a model the app does not allow its users (contract: 403 model_not_allowed). */
  assertModelAllowed(app: App, modelId: string): void {
    if (app.allowedModels && !app.allowedModels.includes(modelId)) {
      throw new TollgateError('model_not_allowed', `Model ${modelId} is not allowed for this app`, { model: modelId });
    }
  }
}
