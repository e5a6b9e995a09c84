/**
 * Apps are the partners that sell through Tollgate: each has a publishable key (browser), a secret key
 * (backend), a referral rate (its share on top of provider cost, seed 004), optionally a list of
 * models its users may call, whether its customers may bring their own provider keys, and the origins
 * its checkouts may return to. Each app owns a referral account in the ledger.
 */
import { generateKey, hashKey, keyHint } from '../auth/keys.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';

export interface App {
  id: string;
  name: string;
  referralRatePpm: bigint;
  /** The highest rate the app may set for itself (the operator sets any rate, and this ceiling). */
  referralRateMaxPpm: bigint;
  /** Kept to print the embed snippet (public by design); null for apps made before it was kept. */
  publishableKey: string | null;
  allowedModels: string[] | null;
  /** Customers may store their own provider keys (BYOK: their work is then free of credits). */
  byokAllowed: boolean;
  /** Origins (`https://app.example`) that checkout success and cancel URLs may point at. */
  returnOrigins: string[];
  /** How the app looks on its customers' dashboard: https logo, `#rrggbb` accent, https address to go back to. */
  branding: AppBranding;
  createdAt: Date;
}

export interface AppBranding {
  logoUrl: string | null;
  accentColor: string | null;
  websiteUrl: string | null;
}

/** What an operator (or, for its policies, the app itself) may change. */
export interface AppChanges {
  name?: string;
  referralRatePpm?: bigint;
  referralRateMaxPpm?: bigint;
  allowedModels?: string[] | null;
  byokAllowed?: boolean;
  returnOrigins?: string[];
  branding?: Partial<AppBranding>;
}

export interface CreatedApp extends App {
  publishableKey: string;
  secretKey: string;
}

/** One change of an app's referral rate or its ceiling (`app_referral_rate_changes`). */
export interface ReferralRateChange {
  changedBy: 'operator' | 'app';
  fromRatePpm: bigint | null;
  toRatePpm: bigint;
  maxRatePpm: bigint;
  createdAt: Date;
}

/**
 * The rate and ceiling after an operator's change: a rate set above the ceiling lifts the ceiling to
 * it, a ceiling set below the rate brings the rate down to it (the rate never exceeds the ceiling);
 * both given, the rate above the ceiling, is a mistake (400).
 */
export function operatorRateChange(
  current: { ratePpm: bigint; maxPpm: bigint },
  change: { ratePpm?: bigint; maxPpm?: bigint },
): { ratePpm: bigint; maxPpm: bigint } {
  if (change.ratePpm !== undefined && change.maxPpm !== undefined && change.ratePpm > change.maxPpm) {
    throw new TollgateError('invalid_request', 'referral_rate cannot be above referral_rate_max', {
      param: 'referral_rate',
    });
  }
  let ratePpm = change.ratePpm ?? current.ratePpm;
  let maxPpm = change.maxPpm ?? current.maxPpm;
  if (change.maxPpm === undefined && ratePpm > maxPpm) maxPpm = ratePpm;
  if (ratePpm > maxPpm) ratePpm = maxPpm;
  return { ratePpm, maxPpm };
}

export function referralAccountId(appId: string): string {
  return `ref:${appId}`;
}

export class AppsService {
  private readonly cache = new Map<string, { app: App; expiresAt: number }>();

  constructor(private readonly db: Database) {}

  async create(input: {
    name: string;
    referralRatePpm: bigint;
    referralRateMaxPpm?: bigint;
    allowedModels: string[] | null;
    byokAllowed?: boolean;
    returnOrigins?: string[];
  }): Promise<CreatedApp> {
    const id = newId('app', 12);
    const publishableKey = generateKey('publishable');
    const secretKey = generateKey('secret');
    // The ceiling defaults to the rate (a rate above no ceiling lifts it).
    const rate = operatorRateChange(
      { ratePpm: 0n, maxPpm: 0n },
      { ratePpm: input.referralRatePpm, maxPpm: input.referralRateMaxPpm },
    );
    await this.db.kysely.transaction().execute(async (transaction) => {
      await transaction
        .insertInto('apps')
        .values({
          id,
          name: input.name,
          referral_rate_ppm: rate.ratePpm,
          referral_rate_max_ppm: rate.maxPpm,
          publishable_key: publishableKey,
          allowed_models: input.allowedModels ? JSON.stringify(input.allowedModels) : null,
          byok_allowed: input.byokAllowed ?? true,
          return_origins: JSON.stringify(input.returnOrigins ?? []),
        })
        .execute();
      await transaction
        .insertInto('ledger_accounts')
        .values({ id: referralAccountId(id), kind: 'referral', app_id: id })
        .execute();
      await transaction
        .insertInto('app_referral_rate_changes')
        .values({
          id: newId('rrc'),
          app_id: id,
          changed_by: 'operator',
          from_rate_ppm: null,
          to_rate_ppm: rate.ratePpm,
          max_rate_ppm: rate.maxPpm,
        })
        .execute();
      await transaction
        .insertInto('api_keys')
        .values([
          {
            id: newId('key'),
            kind: 'publishable',
            key_hash: hashKey(publishableKey),
            key_hint: keyHint(publishableKey),
            app_id: id,
            customer_id: null,
            revoked_at: null,
          },
          {
            id: newId('key'),
            kind: 'secret',
            key_hash: hashKey(secretKey),
            key_hint: keyHint(secretKey),
            app_id: id,
            customer_id: null,
            revoked_at: null,
          },
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
      referralRateMaxPpm: BigInt(row.referral_rate_max_ppm),
      publishableKey: row.publishable_key,
      allowedModels: (row.allowed_models as string[] | null) ?? null,
      byokAllowed: row.byok_allowed,
      returnOrigins: (row.return_origins as string[] | null) ?? [],
      branding: {
        logoUrl: row.logo_url ?? null,
        accentColor: row.accent_color ?? null,
        websiteUrl: row.website_url ?? null,
      },
      createdAt: new Date(row.created_at),
    };
    this.cache.set(id, { app, expiresAt: now + 5_000 });
    return app;
  }

  async update(id: string, changes: AppChanges): Promise<App> {
    if (changes.referralRatePpm !== undefined || changes.referralRateMaxPpm !== undefined) {
      await this.changeReferralRate(id, 'operator', (current) =>
        operatorRateChange(current, { ratePpm: changes.referralRatePpm, maxPpm: changes.referralRateMaxPpm }),
      );
    }
    const values: Record<string, unknown> = {};
    if (changes.name !== undefined) values.name = changes.name;
    if (changes.allowedModels !== undefined)
      values.allowed_models = changes.allowedModels ? JSON.stringify(changes.allowedModels) : null;
    if (changes.byokAllowed !== undefined) values.byok_allowed = changes.byokAllowed;
    if (changes.returnOrigins !== undefined) values.return_origins = JSON.stringify(changes.returnOrigins);
    if (changes.branding?.logoUrl !== undefined) values.logo_url = changes.branding.logoUrl;
    if (changes.branding?.accentColor !== undefined) values.accent_color = changes.branding.accentColor;
    if (changes.branding?.websiteUrl !== undefined) values.website_url = changes.branding.websiteUrl;
    if (Object.keys(values).length > 0) {
      const result = await this.db.kysely
        .updateTable('apps')
        .set(values)
        .where('id', '=', id)
        .executeTakeFirst();
      if ((result.numUpdatedRows ?? 0n) === 0n) throw new TollgateError('not_found', `No such app: ${id}`);
    }
    // Other nodes see the change when their cached copy ends (a few seconds).
    this.cache.delete(id);
    return this.get(id);
  }

  /**
   * The app's own choice of referral rate, up to the ceiling the operator set (over it: 400
   * `invalid_request` with `referral_rate_max`). Work priced from then on uses it: holds already
   * placed keep the share they were priced with; other servers see it when their cached app ends.
   */
  async setOwnReferralRate(id: string, ratePpm: bigint): Promise<App> {
    await this.changeReferralRate(id, 'app', (current) => {
      if (ratePpm > current.maxPpm) {
        throw new TollgateError('invalid_request', 'referral_rate is above the ceiling the operator set', {
          param: 'referral_rate',
          referral_rate_max: microsToCredits(current.maxPpm),
        });
      }
      return { ratePpm, maxPpm: current.maxPpm };
    });
    this.cache.delete(id);
    return this.get(id);
  }

  /** The app's rate changes, newest first. */
  async referralRateHistory(id: string, limit = 50): Promise<ReferralRateChange[]> {
    const rows = await this.db.kysely
      .selectFrom('app_referral_rate_changes')
      .selectAll()
      .where('app_id', '=', id)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      changedBy: row.changed_by,
      fromRatePpm: row.from_rate_ppm === null ? null : BigInt(row.from_rate_ppm),
      toRatePpm: BigInt(row.to_rate_ppm),
      maxRatePpm: BigInt(row.max_rate_ppm),
      createdAt: new Date(row.created_at),
    }));
  }

  /** Locks the app's row, applies `decide` to its rate and ceiling, writes both and the history row. */
  private async changeReferralRate(
    id: string,
    changedBy: 'operator' | 'app',
    decide: (current: { ratePpm: bigint; maxPpm: bigint }) => { ratePpm: bigint; maxPpm: bigint },
  ): Promise<void> {
    await this.db.kysely.transaction().execute(async (transaction) => {
      const row = await transaction
        .selectFrom('apps')
        .select(['referral_rate_ppm', 'referral_rate_max_ppm'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw new TollgateError('not_found', `No such app: ${id}`);
      const current = { ratePpm: BigInt(row.referral_rate_ppm), maxPpm: BigInt(row.referral_rate_max_ppm) };
      const next = decide(current);
      if (next.ratePpm === current.ratePpm && next.maxPpm === current.maxPpm) return;
      await transaction
        .updateTable('apps')
        .set({ referral_rate_ppm: next.ratePpm, referral_rate_max_ppm: next.maxPpm })
        .where('id', '=', id)
        .execute();
      await transaction
        .insertInto('app_referral_rate_changes')
        .values({
          id: newId('rrc'),
          app_id: id,
          changed_by: changedBy,
          from_rate_ppm: current.ratePpm,
          to_rate_ppm: next.ratePpm,
          max_rate_ppm: next.maxPpm,
        })
        .execute();
    });
  }

  async list(): Promise<App[]> {
    const rows = await this.db.kysely.selectFrom('apps').select('id').orderBy('created_at').execute();
    return Promise.all(rows.map((row) => this.get(row.id)));
  }

  /** Whether `url` may be a checkout's success or cancel URL: the server's own origin or one the app allows. */
  allowsReturnUrl(app: App, url: string, ownOrigin: string): boolean {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return false;
    }
    return origin === new URL(ownOrigin).origin || app.returnOrigins.includes(origin);
  }

  /** Refuses a model the app does not allow its users (contract: 403 model_not_allowed). */
  assertModelAllowed(app: App, modelId: string): void {
    if (app.allowedModels && !app.allowedModels.includes(modelId)) {
      throw new TollgateError('model_not_allowed', `Model ${modelId} is not allowed for this app`, {
        model: modelId,
      });
    }
  }
}
