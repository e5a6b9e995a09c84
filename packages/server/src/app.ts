/**
 * Composition root: opens the store, runs migrations, builds the services and the HTTP server.
 * Everything that varies between production, tests and benchmarks comes in through options.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { AppsService } from './apps/apps-service.ts';
import { generateKey, hashKey } from './auth/keys.ts';
import { KeyStore, presentedKey } from './auth/principals.ts';
import { AutoTopupService } from './auto-topup/auto-topup-service.ts';
import { ProviderKeysService } from './byok/provider-keys.ts';
import { loadSecrets } from './byok/secrets.ts';
import { loadConfig } from './config/load-config.ts';
import type { TollgateConfig } from './config/types.ts';
import { CustomersService } from './customers/customers-service.ts';
import { SignupBonus } from './customers/signup-bonus.ts';
import { EntitlementsService } from './entitlements/entitlements-service.ts';
import { GateService } from './gate/gate-service.ts';
import { CountTokensService } from './gateway/count-tokens.ts';
import { EMBEDDINGS_BODY_LIMIT_BYTES, EmbeddingsService } from './gateway/embeddings.ts';
import { readJsonBody } from './gateway/formats/elided-json.ts';
import { GATEWAY_BODY_LIMIT_BYTES, type GatewayDeps, GatewayService } from './gateway/gateway-service.ts';
import { InFlightHolds } from './gateway/hold-keeper.ts';
import { Upstreams } from './gateway/upstreams.ts';
import { GenerationsService } from './generations/generations-service.ts';
import { GiftCodesService } from './gifts/gift-codes-service.ts';
import { GrantsService } from './grants/grants-service.ts';
import { HttpIdempotency } from './http/idempotency.ts';
import { Metrics } from './http/metrics.ts';
import { completeOpenApiDocument } from './http/openapi.ts';
import { type AnyRoute, openApiDocument, registerRoutes } from './http/route.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { appRoutes } from './http/routes/apps.ts';
import { autoTopupRoutes } from './http/routes/auto-topup.ts';
import { customerRoutes } from './http/routes/customers.ts';
import { registerDashboardPages } from './http/routes/dashboard-pages.ts';
import { docsRoutes } from './http/routes/docs.ts';
import { entitlementRoutes } from './http/routes/entitlements.ts';
import { gateRoutes } from './http/routes/gate.ts';
import { generationRoutes } from './http/routes/generations.ts';
import { grantRoutes } from './http/routes/grants.ts';
import { memberRoutes } from './http/routes/members.ts';
import { partnerRoutes } from './http/routes/partners.ts';
import { paymentRoutes, registerStripeWebhook } from './http/routes/payments.ts';
import { portalRoutes } from './http/routes/portal.ts';
import { statementRoutes } from './http/routes/statement.ts';
import { registerTestCheckout } from './http/routes/test-checkout.ts';
import { usageRoutes } from './http/routes/usage.ts';
import { userRoutes } from './http/routes/user.ts';
import { userKeyRoutes } from './http/routes/user-keys.ts';
import { webhookRoutes } from './http/routes/webhooks.ts';
import { widgetRoutes } from './http/routes/widget.ts';
import { createHttpServer } from './http/server.ts';
import { Ledger } from './ledger/ledger.ts';
import { DEFAULT_SWEEP_INTERVAL_MILLISECONDS, Sweeper, type SweepResult } from './ledger/sweeper.ts';
import { PartnerEarnings } from './partners/partner-earnings.ts';
import { type CheckoutProvider, StripeCheckout, TestModeCheckout } from './payments/checkout-provider.ts';
import { PurchasesService } from './payments/purchases-service.ts';
import { ReturnUrls } from './payments/return-urls.ts';
import { type PaymentsMode, paymentsModeFromEnvironment } from './payments/test-mode.ts';
import { StripeWebhooks } from './payments/webhooks.ts';
import { DashboardAssets } from './portal/dashboard-assets.ts';
import { OpenRouterConnect } from './portal/openrouter-connect.ts';
import { openRouterOrigin } from './portal/pkce.ts';
import { PortalService } from './portal/portal-service.ts';
import { ReportsService } from './portal/reports-service.ts';
import { type Catalog, createCatalog } from './pricing/catalog.ts';
import { RateLimits, redisTimeoutsFromEnv } from './ratelimit/rate-limiter.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { StatementService } from './statement/statement-service.ts';
import { resolveDataFolder } from './store/data-folder.ts';
import { type Database, databaseReachable, databaseTimeoutsFromEnv, openDatabase } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';
import { SubscriptionsService } from './subscriptions/subscriptions-service.ts';
import { MembersService } from './teams/members-service.ts';
import { UsageService } from './usage/usage-service.ts';
import { dispatcherOptionsFromEnv, privateTargetsFromEnv } from './webhooks/config.ts';
import { WebhookDispatcher } from './webhooks/dispatcher.ts';
import { WebhooksService } from './webhooks/webhooks-service.ts';
import { GuestMerge } from './widget/guest-merge.ts';

export const VERSION = '0.1.0';

/** How long a shutdown waits for requests and streams in flight before cutting them. */
export const DEFAULT_DRAIN_TIMEOUT_MILLISECONDS = 30_000;

/** After the drain, how long calls whose connections were cut may take to settle their holds. */
const SETTLE_AFTER_CUT_MILLISECONDS = 10_000;

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
  /** Deliver webhooks in the background (webhooks/dispatcher.ts). Default: as `sweeper`. */
  webhookDelivery?: boolean;
  /** Where a generated admin key is announced (once). */
  announce?: (message: string) => void;
  /** Told what the start is doing (opening the database, migrations), for a server that says so. */
  progress?: (message: string) => void;
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
    usage: UsageService;
    dashboardAssets: DashboardAssets;
    webhooks: WebhooksService;
    autoTopups: AutoTopupService;
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
  /** Makes every webhook delivery that is due now, as the background dispatcher does; returns how many. */
  deliverWebhooks(): Promise<number>;
  listen(port: number, host?: string): Promise<string>;
  /** Requests (and streams) in flight right now. */
  inFlightRequests(): number;
  /**
   * Stops accepting, lets the requests in flight finish (their holds settle as they end) for at most
   * `drainTimeoutMilliseconds` (default TOLLGATE_DRAIN_TIMEOUT_MS, else 30 s), then cuts the rest —
   * a cut stream settles what it used, as when its client leaves — and closes the database.
   */
  close(options?: { drainTimeoutMilliseconds?: number }): Promise<void>;
}

export async function createTollgate(options: TollgateOptions = {}): Promise<Tollgate> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const config = options.config ?? loadConfig(options.configPath ?? env.TOLLGATE_CONFIG, env);
  const ownsDatabase = !options.database;
  const progress = options.progress ?? (() => {});
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  const dataFolder = options.database || databaseUrl ? null : (options.dataDir ?? resolveDataFolder(env));
  const db =
    options.database ??
    (await openDatabase({
      url: databaseUrl,
      dataDir: dataFolder ?? undefined,
      timeouts: databaseTimeoutsFromEnv(env),
      progress,
    }));
  progress('database open; applying migrations');
  const applied = await migrateToLatest(db.kysely);
  progress(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');

  const metrics = new Metrics();
  const catalog = createCatalog(config);
  const ledger = new Ledger(db, clock, {
    holdTimeoutSeconds: config.holds.timeoutSeconds,
    defaultLowBalanceMicros: config.alerts.lowBalanceMicros,
  });
  const keys = new KeyStore(db, clock);
  const generatedAdminKey = await ensureAdminKey(db, keys, env);
  const secrets = await loadSecrets({
    db,
    env,
    dataFolder: dataFolder?.startsWith('memory://') ? null : dataFolder,
    announce: env.TOLLGATE_SECRET_WARNED ? undefined : options.announce,
  });
  const secret = secrets.signingSecret;
  const secretBox = secrets.box;
  const apps = new AppsService(db);
  const signupBonus = new SignupBonus(ledger, clock, {
    amountMicros: config.signupBonusMicros,
    dailyCapMicros: config.signupBonusDailyCapMicros,
  });
  const customers = new CustomersService(db, ledger, keys, signupBonus);
  const providerKeys = new ProviderKeysService(db, secretBox, { providers: config.providers });
  const gate = new GateService(db, ledger, catalog, apps, customers, providerKeys, metrics);
  const grants = new GrantsService(db, ledger, gate, customers, clock);

  let listeningUrl = `http://127.0.0.1:${env.PORT ?? 8787}`;
  const publicUrl = () => (env.TOLLGATE_PUBLIC_URL ?? listeningUrl).replace(/\/+$/, '');
  const stripeCheckout = env.STRIPE_SECRET_KEY
    ? new StripeCheckout(env.STRIPE_SECRET_KEY, env.STRIPE_API_BASE)
    : null;
  // Without Stripe keys, whether test mode may sell is decided in listen(), once the address is known;
  // deciding now also checks TOLLGATE_TEST_MODE's spelling (with the switch on, test mode is on already).
  const testCheckout = stripeCheckout ? null : new TestModeCheckout(publicUrl, secret);
  testCheckout?.decide(paymentsModeFromEnvironment(env, config.testMode, null));
  const checkout: CheckoutProvider = stripeCheckout ?? testCheckout!;
  const returnUrls = new ReturnUrls(apps, publicUrl);
  const purchases = new PurchasesService(
    db,
    ledger,
    config,
    checkout,
    clock,
    publicUrl,
    returnUrls,
    signupBonus,
  );
  const subscriptions = new SubscriptionsService(
    db,
    ledger,
    config,
    checkout,
    clock,
    publicUrl,
    stripeCheckout?.stripe ?? null,
    returnUrls,
  );
  const webhooks = new StripeWebhooks(
    env.STRIPE_WEBHOOK_SECRET,
    purchases,
    subscriptions,
    stripeCheckout?.stripe,
  );
  const gifts = new GiftCodesService(db, ledger, clock);
  const autoTopups = new AutoTopupService({
    db,
    ledger,
    purchases,
    clock,
    stripe: stripeCheckout?.stripe ?? null,
    testMode: testCheckout,
    publicUrl,
    returnUrls,
    onError: (error) => http.log.error({ err: error }, 'auto top-up failed'),
  });
  webhooks.autoTopups = autoTopups;
  const metricsAddress = parseListenAddress(env.TOLLGATE_METRICS_ADDRESS);
  const http = createHttpServer({
    metrics,
    logger: options.logger,
    // /metrics: the admin key (or TOLLGATE_METRICS_KEY, for a scraper); only on its own address when
    // TOLLGATE_METRICS_ADDRESS is set; TOLLGATE_METRICS=public opens it to anyone who reaches the port.
    metricsAccess:
      env.TOLLGATE_METRICS === 'public'
        ? 'public'
        : metricsAddress
          ? 'hidden'
          : async (request) => {
              const key = presentedKey(request.headers);
              if (!key) return false;
              if (env.TOLLGATE_METRICS_KEY && sameText(key, env.TOLLGATE_METRICS_KEY)) return true;
              return (await keys.resolve(key))?.kind === 'admin';
            },
    readiness: async () => {
      const [database, redis] = await Promise.all([
        databaseReachable(db, READINESS_TIMEOUT_MILLISECONDS),
        rateLimits.redisReachable(READINESS_TIMEOUT_MILLISECONDS),
      ]);
      return {
        database: database ? 'ok' : 'unreachable',
        redis: redis === null ? 'not_configured' : redis ? 'ok' : 'unreachable',
      };
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
  const customerLimiter = rateLimits.limiter(
    { perMinute: requestsPerMinute, burst: requestsPerMinute },
    'tollgate:customer:',
  );
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
      Number(env.TOLLGATE_CLIENT_WRITE_TIMEOUT_MS) > 0
        ? Number(env.TOLLGATE_CLIENT_WRITE_TIMEOUT_MS)
        : undefined,
  };
  const gateway = new GatewayService(gatewayDeps);

  const generations = new GenerationsService(
    db,
    ledger,
    catalog,
    config,
    apps,
    providerKeys,
    upstreams,
    clock,
    metrics,
    env,
    {
      jobTimeoutSeconds: Number(env.TOLLGATE_GENERATION_TIMEOUT_SECONDS ?? 3600),
      holdTimeoutSeconds: Math.max(config.holds.timeoutSeconds, 1800),
    },
  );
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
  const usage = new UsageService(db, catalog);
  const statement = new StatementService(db);
  // Private targets: decided from the switch now, or from where the server listens (listen()).
  let privateTargetsAllowed = privateTargetsFromEnv(env, null);
  const outboundWebhooks = new WebhooksService(
    db,
    clock,
    () => privateTargetsAllowed,
    config.alerts.lowBalanceMicros,
  );
  const dispatcher = new WebhookDispatcher(
    db,
    clock,
    dispatcherOptionsFromEnv(env, () => privateTargetsAllowed),
    (error) => http.log.error({ err: error }, 'webhook delivery failed'),
  );
  const routes: AnyRoute[] = [
    ...appRoutes(apps),
    ...adminRoutes({ db, clock }),
    ...customerRoutes({
      customers,
      ledger,
      gate,
      providerKeys,
      subscriptionOf: (id) => subscriptions.view(id),
      statement,
    }),
    ...statementRoutes({ customers, statement }),
    ...grantRoutes(grants),
    ...userKeyRoutes(customers),
    ...memberRoutes(customers, new MembersService(db, ledger, customers)),
    ...gateRoutes(gate, clock),
    ...userRoutes({
      config,
      catalog,
      ledger,
      apps,
      customers,
      keys,
      subscriptionOf: (id) => subscriptions.view(id),
    }),
    ...paymentRoutes({ customers, purchases, webhooks, gifts, subscriptions, redeemLimiter }),
    ...generationRoutes(generations),
    ...entitlementRoutes({ customers, entitlements: new EntitlementsService(db, config, clock) }),
    ...usageRoutes({ customers, usage }),
    ...partnerRoutes(new PartnerEarnings(db, clock)),
    ...webhookRoutes(outboundWebhooks, customers),
    ...autoTopupRoutes(autoTopups, customers),
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
  registerRoutes(http, keys, routes, {
    idempotency: new HttpIdempotency(db),
    customerLimiter,
    checkResponses: env.TOLLGATE_CHECK_RESPONSES === '1',
  });
  registerStripeWebhook(http, webhooks);
  // Gateway calls in progress: a shutdown waits for them to settle their holds, even once their connection is cut.
  const gatewayCalls = new Set<Promise<unknown>>();
  const tracked = <T>(call: Promise<T>): Promise<T> => {
    gatewayCalls.add(call);
    const forget = () => gatewayCalls.delete(call);
    call.then(forget, forget);
    return call;
  };
  // Chat and messages bodies are read with their long text cut out (gateway/formats/elided-json.ts).
  http.post(
    '/v1/chat/completions',
    { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'openai', readJson: readJsonBody } },
    (request, reply) => tracked(gateway.handle('openai', request, reply)),
  );
  http.post(
    '/v1/messages',
    { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'anthropic', readJson: readJsonBody } },
    (request, reply) => tracked(gateway.handle('anthropic', request, reply)),
  );
  http.post(
    '/v1/responses',
    { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'openai' } },
    (request, reply) => tracked(gateway.handle('responses', request, reply)),
  );
  const countTokens = new CountTokensService(gatewayDeps);
  http.post(
    '/v1/messages/count_tokens',
    { bodyLimit: GATEWAY_BODY_LIMIT_BYTES, config: { dialect: 'anthropic' } },
    (request, reply) => tracked(countTokens.handle(request, reply)),
  );
  const embeddings = new EmbeddingsService(gatewayDeps);
  http.post(
    '/v1/embeddings',
    { bodyLimit: EMBEDDINGS_BODY_LIMIT_BYTES, config: { dialect: 'openai' } },
    (request, reply) => tracked(embeddings.handle(request, reply)),
  );
  if (testCheckout)
    registerTestCheckout(http, { checkout: testCheckout, purchases, subscriptions, customers, returnUrls });
  docsRoutes(http, () => completeOpenApiDocument(openApiDocument(routes, VERSION) as Record<string, any>));
  registerDashboardPages(http, dashboardAssets, () => checkout.mode().kind === 'test');

  const sweeper = new Sweeper(
    db,
    ledger,
    clock,
    options.sweepIntervalMilliseconds ?? DEFAULT_SWEEP_INTERVAL_MILLISECONDS,
    (error) => http.log.error({ err: error }, 'sweeper failed'),
    { inFlight: inFlightHolds, scheduledGrants: grants },
  );
  // Test-mode subscriptions renew on our clock (Stripe renews its own and tells us by webhook).
  // The media job worker settles generations nobody polls.
  const renewals = setInterval(() => {
    subscriptions.renewDue().catch((error) => http.log.error({ err: error }, 'subscription renewal failed'));
    generations.pollPending().catch((error) => http.log.error({ err: error }, 'generation worker failed'));
    autoTopups.scan().catch((error) => http.log.error({ err: error }, 'auto top-up scan failed'));
  }, options.sweepIntervalMilliseconds ?? DEFAULT_SWEEP_INTERVAL_MILLISECONDS);
  renewals.unref();
  if (options.sweeper !== false) sweeper.start();
  else clearInterval(renewals);
  if (options.webhookDelivery ?? options.sweeper !== false) dispatcher.start();
  if (generatedAdminKey) {
    (options.announce ?? ((message) => process.stdout.write(`${message}\n`)))(
      `Generated admin key (shown once, stored hashed): ${generatedAdminKey}`,
    );
  }

  // Requests in flight, for a shutdown that waits for them and says how many.
  let inFlight = 0;
  http.addHook('onRequest', async (_request, reply) => {
    inFlight += 1;
    // 'close' comes once per response, finished or cut.
    reply.raw.once('close', () => {
      inFlight -= 1;
    });
  });

  let metricsServer: Server | undefined;
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
      usage,
      dashboardAssets,
      webhooks: outboundWebhooks,
      autoTopups,
    },
    generatedAdminKey,
    publicUrl,
    paymentsMode: () => checkout.mode(),
    sweep: () => sweeper.sweep(),
    deliverWebhooks: () => dispatcher.drain(),
    async listen(port, host = '127.0.0.1') {
      const address = await http.listen({ port, host });
      if (metricsAddress && !metricsServer) metricsServer = await serveMetrics(metrics, metricsAddress);
      listeningUrl = address.replace('[::1]', '127.0.0.1');
      const addresses = http.addresses().map((bound) => (typeof bound === 'string' ? bound : bound.address));
      testCheckout?.decide(paymentsModeFromEnvironment(env, config.testMode, addresses));
      privateTargetsAllowed = privateTargetsFromEnv(env, addresses);
      return address;
    },
    inFlightRequests: () => inFlight,
    async close(closeOptions = {}) {
      if (closed) return;
      closed = true;
      clearInterval(renewals);
      await sweeper.stop();
      await dispatcher.stop();
      await autoTopups.idle();
      const drainTimeoutMilliseconds =
        closeOptions.drainTimeoutMilliseconds ??
        (Number(env.TOLLGATE_DRAIN_TIMEOUT_MS) >= 0 && env.TOLLGATE_DRAIN_TIMEOUT_MS
          ? Number(env.TOLLGATE_DRAIN_TIMEOUT_MS)
          : DEFAULT_DRAIN_TIMEOUT_MILLISECONDS);
      // Fastify's close stops accepting, closes idle connections and waits for the requests in flight.
      const cut = setTimeout(() => {
        if (inFlight > 0)
          http.log.warn(
            `shutdown: cutting ${inFlight} request(s) still running after ${drainTimeoutMilliseconds} ms`,
          );
        http.server.closeAllConnections();
      }, drainTimeoutMilliseconds);
      try {
        await http.close();
      } finally {
        clearTimeout(cut);
      }
      // A call whose connection was cut settles what it delivered after the connection is gone.
      let settleTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...gatewayCalls]),
        new Promise((resolve) => {
          settleTimer = setTimeout(resolve, SETTLE_AFTER_CUT_MILLISECONDS);
        }),
      ]);
      clearTimeout(settleTimer);
      if (metricsServer) await new Promise((resolve) => metricsServer!.close(resolve));
      await rateLimits.close();
      await ledger.drain();
      await upstreams.close();
      if (ownsDatabase) await db.close();
    },
  };
}

/** TOLLGATE_ADMIN_KEY wins; otherwise a key is generated on first start and only its hash is kept. */
async function ensureAdminKey(
  db: Database,
  keys: KeyStore,
  env: Record<string, string | undefined>,
): Promise<string | null> {
  if (env.TOLLGATE_ADMIN_KEY) {
    keys.setAdminHash(hashKey(env.TOLLGATE_ADMIN_KEY));
    return null;
  }
  await keys.loadAdminHash();
  const existing = await db.kysely
    .selectFrom('settings')
    .select('value')
    .where('name', '=', 'admin_key_hash')
    .executeTakeFirst();
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

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `127.0.0.1:9464` or `:9464` (loopback) → where the metrics listener binds; undefined when unset. */
function parseListenAddress(text: string | undefined): { host: string; port: number } | undefined {
  if (!text) return undefined;
  const match = /^(.*):(\d{1,5})$/.exec(text.trim());
  if (!match || Number(match[2]) > 65535)
    throw new Error(`TOLLGATE_METRICS_ADDRESS must be HOST:PORT, e.g. 127.0.0.1:9464; got "${text}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(match[2]) };
}

/** The metrics alone, on an address of their own (a private network a scraper reaches), no key. */
async function serveMetrics(metrics: Metrics, address: { host: string; port: number }): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics here\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}
