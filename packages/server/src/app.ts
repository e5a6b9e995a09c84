/**
 * Composition root: opens the store, runs migrations, builds the services and the HTTP server.
 * Everything that varies between production, tests and benchmarks comes in through options.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { AppsService } from './apps/apps-service.ts';
import { generateKey, hashKey } from './auth/keys.ts';
import { KeyStore } from './auth/principals.ts';
import { SecretBox } from './byok/crypto.ts';
import { ProviderKeysService } from './byok/provider-keys.ts';
import { loadConfig } from './config/load-config.ts';
import type { TollgateConfig } from './config/types.ts';
import { CustomersService } from './customers/customers-service.ts';
import { GateService } from './gate/gate-service.ts';
import { Metrics } from './http/metrics.ts';
import { HttpIdempotency } from './http/idempotency.ts';
import { openApiDocument, registerRoutes, type AnyRoute } from './http/route.ts';
import { appRoutes } from './http/routes/apps.ts';
import { customerRoutes } from './http/routes/customers.ts';
import { docsRoutes } from './http/routes/docs.ts';
import { gateRoutes } from './http/routes/gate.ts';
import { paymentRoutes, registerStripeWebhook } from './http/routes/payments.ts';
import { registerTestCheckout } from './http/routes/test-checkout.ts';
import { userRoutes } from './http/routes/user.ts';
import { widgetRoutes } from './http/routes/widget.ts';
import { registerDashboardPages } from './http/routes/dashboard-pages.ts';
import { portalRoutes } from './http/routes/portal.ts';
import { DashboardAssets } from './portal/dashboard-assets.ts';
import { OpenRouterConnect } from './portal/openrouter-connect.ts';
import { openRouterOrigin } from './portal/pkce.ts';
import { PortalService } from './portal/portal-service.ts';
import { ReportsService } from './portal/reports-service.ts';
import { GiftCodesService } from './gifts/gift-codes-service.ts';
import { type CheckoutProvider, StripeCheckout, TestModeCheckout } from './payments/checkout-provider.ts';
import { PurchasesService } from './payments/purchases-service.ts';
import { StripeWebhooks } from './payments/webhooks.ts';
import { createRateLimiter, type RateLimiter } from './ratelimit/rate-limiter.ts';
import { SubscriptionsService } from './subscriptions/subscriptions-service.ts';
import { GATEWAY_BODY_LIMIT_BYTES, GatewayService } from './gateway/gateway-service.ts';
import { Upstreams } from './gateway/upstreams.ts';
import { GenerationsService } from './generations/generations-service.ts';
import { generationRoutes } from './http/routes/generations.ts';
import { createHttpServer } from './http/server.ts';
import { Ledger } from './ledger/ledger.ts';
import { Sweeper } from './ledger/sweeper.ts';
import { type Catalog, createCatalog } from './pricing/catalog.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { type Database, openDatabase } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

export const VERSION = '0.1.0';

export interface TollgateOptions {
  config?: TollgateConfig;
  /** Path of a YAML/JSON config file (ignored when `config` is given). */
  configPath?: string;
  database?: Database;
  databaseUrl?: string;
  dataDir?: string;
  clock?: Clock;
  env?: Record<string, string | undefined>;
  logger?: FastifyServerOptions['logger'];
  /** Start the background sweeper (holds past their timeout, expired grants). Default true. */
  sweeper?: boolean;
  sweepIntervalMilliseconds?: number;
  /** Where a generated admin key is announced (once). */
  announce?: (message: string) => void;
}

export interface Tollgate {
  http: FastifyInstance;
  db: Database;
  config: TollgateConfig;
  catalog: Catalog;
  ledger: Ledger;
  clock: Clock;
  metrics: Metrics;
  services: {
    apps: AppsService;
    customers: CustomersService;
    gate: GateService;
    providerKeys: ProviderKeysService;
    keys: KeyStore;
    purchases: PurchasesService;
    gifts: GiftCodesService;
    subscriptions: SubscriptionsService;
    checkout: CheckoutProvider;
    generations: GenerationsService;
    portal: PortalService;
    reports: ReportsService;
    dashboardAssets: DashboardAssets;
  };
  /** The URL this server is reached at (TOLLGATE_PUBLIC_URL, else where it listens). */
  publicUrl(): string;
  /** The admin key when this start generated it (shown once). */
  generatedAdminKey: string | null;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function createTollgate(options: TollgateOptions = {}): Promise<Tollgate> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const config = options.config ?? loadConfig(options.configPath ?? env.TOLLGATE_CONFIG, env);
  const ownsDatabase = !options.database;
  const db =
    options.database ??
    (await openDatabase({
      url: options.databaseUrl ?? env.DATABASE_URL,
      dataDir: options.dataDir ?? env.TOLLGATE_DATA_DIR ?? join(process.cwd(), '.tollgate'),
    }));
  await migrateToLatest(db.kysely);

  const metrics = new Metrics();
  const catalog = createCatalog(config);
  const ledger = new Ledger(db, clock, { holdTimeoutSeconds: config.holds.timeoutSeconds });
  const keys = new KeyStore(db, clock);
  const generatedAdminKey = await ensureAdminKey(db, keys, env);
  const secretBox = new SecretBox(await ensureSecret(db, env, options.announce));
  const apps = new AppsService(db);
  const customers = new CustomersService(db, ledger, keys, config.signupBonusMicros);
  const providerKeys = new ProviderKeysService(db, secretBox);
  const gate = new GateService(db, ledger, catalog, apps, customers, providerKeys, metrics);

  let listeningUrl = `http://127.0.0.1:${env.PORT ?? 8787}`;
  const publicUrl = () => (env.TOLLGATE_PUBLIC_URL ?? listeningUrl).replace(/\/+$/, '');
  const stripeCheckout = env.STRIPE_SECRET_KEY ? new StripeCheckout(env.STRIPE_SECRET_KEY, env.STRIPE_API_BASE) : null;
  const checkout: CheckoutProvider = stripeCheckout ?? new TestModeCheckout(publicUrl);
  const purchases = new PurchasesService(db, ledger, config, checkout, clock, publicUrl);
  const subscriptions = new SubscriptionsService(db, ledger, config, checkout, clock, publicUrl, stripeCheckout?.stripe ?? null);
  const webhooks = new StripeWebhooks(env.STRIPE_WEBHOOK_SECRET, purchases, subscriptions, stripeCheckout?.stripe);
  const gifts = new GiftCodesService(db, ledger, clock);
  const redeemLimiter: RateLimiter = createRateLimiter({ perMinute: 10, burst: 10 }, env.REDIS_URL, 'tollgate:gift:');
  const requestsPerMinute = config.rateLimits.requestsPerMinute;
  const gatewayLimiter = createRateLimiter({ perMinute: requestsPerMinute, burst: requestsPerMinute }, env.REDIS_URL, 'tollgate:gw:');
  const upstreams = new Upstreams({
    headersMilliseconds: Number(env.TOLLGATE_UPSTREAM_TIMEOUT_MS ?? 120_000),
    bodyMilliseconds: Number(env.TOLLGATE_UPSTREAM_TIMEOUT_MS ?? 120_000),
  });
  const gateway = new GatewayService({
    config,
    catalog,
    apps,
    keys,
    providerKeys,
    ledger,
    metrics,
    upstreams,
    rateLimiter: gatewayLimiter,
    env,
    clock,
    holdTimeoutSeconds: config.holds.timeoutSeconds,
    clientWriteTimeoutMilliseconds:
      Number(env.TOLLGATE_CLIENT_WRITE_TIMEOUT_MS) > 0 ? Number(env.TOLLGATE_CLIENT_WRITE_TIMEOUT_MS) : undefined,
  });

  const http = createHttpServer({ metrics, logger: options.logger });
  const generations = new GenerationsService(db, ledger, catalog, config, apps, providerKeys, upstreams, clock, metrics, env, {
    jobTimeoutSeconds: Number(env.TOLLGATE_GENERATION_TIMEOUT_SECONDS ?? 3600),
    holdTimeoutSeconds: Math.max(config.holds.timeoutSeconds, 1800),
  });
  const portal = new PortalService(db, clock, publicUrl);
  const reports = new ReportsService(db, clock, catalog);
  const openRouter = new OpenRouterConnect({
    db,
    clock,
    box: secretBox,
    providerKeys,
    origin: openRouterOrigin(env),
    publicUrl,
  });
  const dashboardAssets = new DashboardAssets();
  const routes: AnyRoute[] = [
    ...appRoutes(apps),
    ...customerRoutes({ customers, ledger, gate, providerKeys, subscriptionOf: (id) => subscriptions.view(id) }),
    ...gateRoutes(gate, providerKeys, clock),
    ...userRoutes({ config, catalog, ledger, apps, customers, keys, subscriptionOf: (id) => subscriptions.view(id) }),
    ...paymentRoutes({ customers, purchases, webhooks, gifts, subscriptions, redeemLimiter }),
    ...generationRoutes(generations),
    ...portalRoutes({ apps, customers, portal, openRouter, reports }),
    ...widgetRoutes(http, { db, clock, config, env, keys, apps, customers, ledger, checkout }),
  ];
  registerRoutes(http, keys, routes, new HttpIdempotency(db));
  registerStripeWebhook(http, webhooks);
  http.post('/v1/chat/completions', { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'openai' } }, (request, reply) => gateway.handle('openai', request, reply));
  http.post('/v1/messages', { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'anthropic' } }, (request, reply) => gateway.handle('anthropic', request, reply));
  if (checkout.name === 'test') registerTestCheckout(http, purchases);
  docsRoutes(http, () => openApiDocument(routes, VERSION));
  registerDashboardPages(http, dashboardAssets);

  const sweeper = new Sweeper(db, ledger, clock, options.sweepIntervalMilliseconds ?? 5_000, (error) =>
    http.log.error({ err: error }, 'sweeper failed'),
  );
  // Test-mode subscriptions renew on our clock (Stripe renews its own and tells us by webhook).
  // The media job worker settles generations nobody polls.
  const renewals = setInterval(() => {
    subscriptions.renewDue().catch((error) => http.log.error({ err: error }, 'subscription renewal failed'));
    generations.pollPending().catch((error) => http.log.error({ err: error }, 'generation worker failed'));
  }, options.sweepIntervalMilliseconds ?? 5_000);
  renewals.unref();
  if (options.sweeper !== false) sweeper.start();
  else clearInterval(renewals);
  if (generatedAdminKey) {
    (options.announce ?? ((message) => process.stdout.write(`${message}\n`)))(
      `Generated admin key (shown once, stored hashed): ${generatedAdminKey}`,
    );
  }

  let closed = false;
  return {
    http,
    db,
    config,
    catalog,
    ledger,
    clock,
    metrics,
    services: {
      apps,
      customers,
      gate,
      providerKeys,
      keys,
      purchases,
      gifts,
      subscriptions,
      checkout,
      generations,
      portal,
      reports,
      dashboardAssets,
    },
    generatedAdminKey,
    publicUrl,
    async listen(port, host = '127.0.0.1') {
      const address = await http.listen({ port, host });
      listeningUrl = address.replace('[::1]', '127.0.0.1');
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(renewals);
      await redeemLimiter.close();
      await gatewayLimiter.close();
      await sweeper.stop();
      await http.close();
      await ledger.drain();
      await upstreams.close();
      if (ownsDatabase) await db.close();
    },
  };
}

/** TOLLGATE_ADMIN_KEY wins; otherwise a key is generated on first start and only its hash is kept. */
async function ensureAdminKey(db: Database, keys: KeyStore, env: Record<string, string | undefined>): Promise<string | null> {
  if (env.TOLLGATE_ADMIN_KEY) {
    keys.setAdminHash(hashKey(env.TOLLGATE_ADMIN_KEY));
    return null;
  }
  await keys.loadAdminHash();
  const existing = await db.kysely.selectFrom('settings').select('value').where('name', '=', 'admin_key_hash').executeTakeFirst();
  if (existing) return null;
  const adminKey = generateKey('admin');
  const inserted = await db.kysely
    .insertInto('settings')
    .values({ name: 'admin_key_hash', value: hashKey(adminKey) })
    .onConflict((conflict) => conflict.doNothing())
    .returning('name')
    .executeTakeFirst();
  await keys.loadAdminHash();
  return inserted ? adminKey : null;
}

/**
 * The master key for provider keys. Production sets TOLLGATE_SECRET; a local start without it gets a
 * generated one kept in the database, with a warning (anyone with the database can then read them).
 */
async function ensureSecret(
  db: Database,
  env: Record<string, string | undefined>,
  announce?: (message: string) => void,
): Promise<string> {
  if (env.TOLLGATE_SECRET) return env.TOLLGATE_SECRET;
  await db.kysely
    .insertInto('settings')
    .values({ name: 'generated_secret', value: randomBytes(32).toString('base64url') })
    .onConflict((conflict) => conflict.doNothing())
    .execute();
  const row = await db.kysely.selectFrom('settings').select('value').where('name', '=', 'generated_secret').executeTakeFirstOrThrow();
  if (announce && !env.TOLLGATE_SECRET_WARNED) {
    announce('TOLLGATE_SECRET is not set: provider keys are encrypted with a generated key stored in the database.');
  }
  return row.value;
}
