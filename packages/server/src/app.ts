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
import { SignupBonus } from './customers/signup-bonus.ts';
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
import { ReturnUrls } from './payments/return-urls.ts';
import { type PaymentsMode, paymentsModeFromEnvironment } from './payments/test-mode.ts';
import { StripeWebhooks } from './payments/webhooks.ts';
import { RateLimits, redisTimeoutsFromEnv } from './ratelimit/rate-limiter.ts';
import { SubscriptionsService } from './subscriptions/subscriptions-service.ts';
import { CountTokensService } from './gateway/count-tokens.ts';
import { EMBEDDINGS_BODY_LIMIT_BYTES, EmbeddingsService } from './gateway/embeddings.ts';
import { GATEWAY_BODY_LIMIT_BYTES, type GatewayDeps, GatewayService } from './gateway/gateway-service.ts';
import { InFlightHolds } from './gateway/hold-keeper.ts';
import { Upstreams } from './gateway/upstreams.ts';
import { GenerationsService } from './generations/generations-service.ts';
import { generationRoutes } from './http/routes/generations.ts';
import { createHttpServer } from './http/server.ts';
import { Ledger } from './ledger/ledger.ts';
import { DEFAULT_SWEEP_INTERVAL_MILLISECONDS, type SweepResult, Sweeper } from './ledger/sweeper.ts';
import { type Catalog, createCatalog } from './pricing/catalog.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { type Database, databaseReachable, databaseTimeoutsFromEnv, openDatabase } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';
import { GuestMerge } from './widget/guest-merge.ts';

export const VERSION = '0.1.0';

/** How long /readyz waits for the database and Redis before calling them unreachable. */
const READINESS_TIMEOUT_MILLISECONDS = 2_000;

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
  /** Stripe, test mode, or off (no Stripe keys where test mode is not allowed); known once listening. */
  paymentsMode(): PaymentsMode;
  /** The URL this server is reached at (TOLLGATE_PUBLIC_URL, else where it listens). */
  publicUrl(): string;
  /** The admin key when this start generated it (shown once). */
  generatedAdminKey: string | null;
  /**
   * One sweep now, as the background sweeper runs it: holds past their timeout voided (those of calls
   * this server is still running extended instead), expired grants written off.
   */
  sweep(): Promise<SweepResult>;
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
      timeouts: databaseTimeoutsFromEnv(env),
    }));
  await migrateToLatest(db.kysely);

  const metrics = new Metrics();
  const catalog = createCatalog(config);
  const ledger = new Ledger(db, clock, { holdTimeoutSeconds: config.holds.timeoutSeconds });
  const keys = new KeyStore(db, clock);
  const generatedAdminKey = await ensureAdminKey(db, keys, env);
  const secret = await ensureSecret(db, env, options.announce);
  const secretBox = new SecretBox(secret);
  const apps = new AppsService(db);
  const signupBonus = new SignupBonus(ledger, clock, {
    amountMicros: config.signupBonusMicros,
    dailyCapMicros: config.signupBonusDailyCapMicros,
  });
  const customers = new CustomersService(db, ledger, keys, signupBonus);
  const providerKeys = new ProviderKeysService(db, secretBox, { providers: config.providers });
  const gate = new GateService(db, ledger, catalog, apps, customers, providerKeys, metrics);

  let listeningUrl = `http://127.0.0.1:${env.PORT ?? 8787}`;
  const publicUrl = () => (env.TOLLGATE_PUBLIC_URL ?? listeningUrl).replace(/\/+$/, '');
  const stripeCheckout = env.STRIPE_SECRET_KEY ? new StripeCheckout(env.STRIPE_SECRET_KEY, env.STRIPE_API_BASE) : null;
  // Without Stripe keys, whether test mode may sell is decided in listen(), once the address is known;
  // deciding now also checks TOLLGATE_TEST_MODE's spelling (with the switch on, test mode is on already).
  const testCheckout = stripeCheckout ? null : new TestModeCheckout(publicUrl, secret);
  testCheckout?.decide(paymentsModeFromEnvironment(env, config.testMode, null));
  const checkout: CheckoutProvider = stripeCheckout ?? testCheckout!;
  const returnUrls = new ReturnUrls(apps, publicUrl);
  const purchases = new PurchasesService(db, ledger, config, checkout, clock, publicUrl, returnUrls, signupBonus);
  const subscriptions = new SubscriptionsService(db, ledger, config, checkout, clock, publicUrl, stripeCheckout?.stripe ?? null, returnUrls);
  const webhooks = new StripeWebhooks(env.STRIPE_WEBHOOK_SECRET, purchases, subscriptions, stripeCheckout?.stripe);
  const gifts = new GiftCodesService(db, ledger, clock);
  const http = createHttpServer({
    metrics,
    logger: options.logger,
    readiness: async () => {
      const [database, redis] = await Promise.all([
        databaseReachable(db, READINESS_TIMEOUT_MILLISECONDS),
        rateLimits.redisReachable(READINESS_TIMEOUT_MILLISECONDS),
      ]);
      return { database: database ? 'ok' : 'unreachable', redis: redis === null ? 'not_configured' : redis ? 'ok' : 'unreachable' };
    },
  });
  const rateLimits = new RateLimits({
    redisUrl: env.REDIS_URL,
    now: () => clock.now().getTime(),
    log: { warn: (message) => http.log.warn(message), info: (message) => http.log.info(message) },
    redisTimeouts: redisTimeoutsFromEnv(env),
  });
  const redeemLimiter = rateLimits.limiter({ perMinute: 10, burst: 10 }, 'tollgate:gift:');
  const requestsPerMinute = config.rateLimits.requestsPerMinute;
  // One bucket per customer for every user-key request, native routes and gateway alike.
  const customerLimiter = rateLimits.limiter({ perMinute: requestsPerMinute, burst: requestsPerMinute }, 'tollgate:customer:');
  const upstreams = new Upstreams({
    headersMilliseconds: Number(env.TOLLGATE_UPSTREAM_TIMEOUT_MS ?? 120_000),
    bodyMilliseconds: Number(env.TOLLGATE_UPSTREAM_TIMEOUT_MS ?? 120_000),
  });
  const inFlightHolds = new InFlightHolds();
  const gatewayDeps: GatewayDeps = {
    config,
    catalog,
    apps,
    keys,
    providerKeys,
    ledger,
    metrics,
    upstreams,
    rateLimiter: customerLimiter,
    env,
    clock,
    inFlightHolds,
    holdTimeoutSeconds: config.holds.timeoutSeconds,
    clientWriteTimeoutMilliseconds:
      Number(env.TOLLGATE_CLIENT_WRITE_TIMEOUT_MS) > 0 ? Number(env.TOLLGATE_CLIENT_WRITE_TIMEOUT_MS) : undefined,
  };
  const gateway = new GatewayService(gatewayDeps);

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
    apps,
    origin: openRouterOrigin(env),
    publicUrl,
  });
  const dashboardAssets = new DashboardAssets();
  const routes: AnyRoute[] = [
    ...appRoutes(apps),
    ...customerRoutes({ customers, ledger, gate, providerKeys, subscriptionOf: (id) => subscriptions.view(id) }),
    ...gateRoutes(gate, clock),
    ...userRoutes({ config, catalog, ledger, apps, customers, keys, subscriptionOf: (id) => subscriptions.view(id) }),
    ...paymentRoutes({ customers, purchases, webhooks, gifts, subscriptions, redeemLimiter }),
    ...generationRoutes(generations),
    ...portalRoutes({ apps, customers, portal, openRouter, reports }),
    ...widgetRoutes(http, {
      db,
      clock,
      config,
      env,
      keys,
      apps,
      customers,
      ledger,
      checkout,
      rateLimits,
      signupBonus,
      merges: new GuestMerge(db, ledger, clock),
    }),
  ];
  registerRoutes(http, keys, routes, { idempotency: new HttpIdempotency(db), customerLimiter });
  registerStripeWebhook(http, webhooks);
  http.post('/v1/chat/completions', { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'openai' } }, (request, reply) => gateway.handle('openai', request, reply));
  http.post('/v1/messages', { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'anthropic' } }, (request, reply) => gateway.handle('anthropic', request, reply));
  const countTokens = new CountTokensService(gatewayDeps);
  http.post('/v1/messages/count_tokens', { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'anthropic' } }, (request, reply) => countTokens.handle(request, reply));
  const embeddings = new EmbeddingsService(gatewayDeps);
  http.post('/v1/embeddings', { bodyLimit: EMBEDDINGS_BODY_LIMIT_BYTES, config: { dialect: 'openai' } }, (request, reply) => embeddings.handle(request, reply));
  if (testCheckout) registerTestCheckout(http, { checkout: testCheckout, purchases, subscriptions, customers, returnUrls });
  docsRoutes(http, () => openApiDocument(routes, VERSION));
  registerDashboardPages(http, dashboardAssets, () => checkout.mode().kind === 'test');

  const sweeper = new Sweeper(
    db,
    ledger,
    clock,
    options.sweepIntervalMilliseconds ?? DEFAULT_SWEEP_INTERVAL_MILLISECONDS,
    (error) => http.log.error({ err: error }, 'sweeper failed'),
    { inFlight: inFlightHolds },
  );
  // Test-mode subscriptions renew on our clock (Stripe renews its own and tells us by webhook).
  // The media job worker settles generations nobody polls.
  const renewals = setInterval(() => {
    subscriptions.renewDue().catch((error) => http.log.error({ err: error }, 'subscription renewal failed'));
    generations.pollPending().catch((error) => http.log.error({ err: error }, 'generation worker failed'));
  }, options.sweepIntervalMilliseconds ?? DEFAULT_SWEEP_INTERVAL_MILLISECONDS);
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
    paymentsMode: () => checkout.mode(),
    sweep: () => sweeper.sweep(),
    async listen(port, host = '127.0.0.1') {
      const address = await http.listen({ port, host });
      listeningUrl = address.replace('[::1]', '127.0.0.1');
      const addresses = http.addresses().map((bound) => (typeof bound === 'string' ? bound : bound.address));
      testCheckout?.decide(paymentsModeFromEnvironment(env, config.testMode, addresses));
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(renewals);
      await sweeper.stop();
      await http.close();
      await rateLimits.close();
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
