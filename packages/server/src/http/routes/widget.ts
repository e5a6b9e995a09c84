/**
 * The checkout widget over HTTP: `GET /sdk.js` for host pages, the widget page the SDK frames
 * (`GET /widget/checkout`), its assets, the return page of a checkout opened in a new tab, and the
 * JSON endpoints the widget calls with the app's publishable key (`/v1/widget/*`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppsService } from '../../apps/apps-service.ts';
import type { KeyStore } from '../../auth/principals.ts';
import type { TollgateConfig } from '../../config/types.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { SignupBonus } from '../../customers/signup-bonus.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { CheckoutProvider } from '../../payments/checkout-provider.ts';
import type { BucketSpec, RateLimits } from '../../ratelimit/rate-limiter.ts';
import type { Clock } from '../../shared/clock.ts';
import { TollgateError } from '../../shared/errors.ts';
import type { Database } from '../../store/database.ts';
import { type AssetName, acceptsGzip, type BuiltAsset, WebAssets } from '../../widget/assets.ts';
import type { GuestMerge } from '../../widget/guest-merge.ts';
import { codeSenderFromEnv, type LoginCodeSender } from '../../widget/login-mail.ts';
import {
  type CheckoutMode,
  returnPage,
  simplePage,
  widgetContentSecurityPolicy,
  widgetPage,
} from '../../widget/pages.ts';
import { type WidgetLimiters, WidgetService } from '../../widget/widget-service.ts';
import { type AnyRoute, defineRoute } from '../route.ts';
import { creditsSchema, timestampSchema } from '../wire.ts';

export interface WidgetRouteDeps {
  db: Database;
  clock: Clock;
  config: TollgateConfig;
  env: Record<string, string | undefined>;
  keys: KeyStore;
  apps: AppsService;
  customers: CustomersService;
  ledger: Ledger;
  checkout: CheckoutProvider;
  /** The server's limiters (one Redis connection for all, when REDIS_URL is set). */
  rateLimits: RateLimits;
  signupBonus: SignupBonus;
  merges: GuestMerge;
  /** Tests replace the mailer or tighten the limits. */
  sender?: LoginCodeSender;
  limits?: Partial<Record<keyof WidgetLimiters, BucketSpec>>;
}

const DEFAULT_LIMITS: Record<keyof WidgetLimiters, BucketSpec> = {
  session: { perMinute: 0.5, burst: 10 },
  loginStartPerEmail: { perMinute: 0.5, burst: 3 },
  loginStartPerClient: { perMinute: 5, burst: 10 },
  loginVerify: { perMinute: 10, burst: 20 },
};

const publishableKey = z.string().min(1).max(200);
const email = z.string().trim().max(254).email();
const sessionId = z.string().regex(/^[\w-]{1,200}$/);
/** A serialized origin (scheme://host[:port]), nothing more: the parent the widget will talk to. */
const hostOrigin = z
  .string()
  .max(300)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
    } catch {
      return false;
    }
  }, 'must be an origin such as https://app.example.com');

const widgetPageQuery = z.object({
  pk: publishableKey,
  origin: hostOrigin,
  mode: z.enum(['embedded', 'new_tab', 'manual']).default('embedded'),
  amount: z
    .string()
    .regex(/^\d{1,7}(\.\d{1,2})?$/)
    .transform(Number)
    .optional(),
  session_id: sessionId.optional(),
  status: z.enum(['success', 'cancelled']).optional(),
  currency: z
    .string()
    .regex(/^[a-z]{3}$/)
    .optional(),
});

const amountOptionSchema = z.object({
  amount: z.number(),
  amount_usd: z.number().nullable(),
  credits: creditsSchema,
  bonus_credits: creditsSchema,
});

const widgetConfigSchema = z.object({
  app: z.object({ name: z.string() }),
  currency: z.string(),
  currencies: z.array(z.string()),
  per_credit: z.number(),
  minimum: z.number(),
  maximum: z.number(),
  usd_per_credit: z.number().nullable(),
  minimum_usd: z.number().nullable(),
  maximum_usd: z.number().nullable(),
  bonus: z.array(z.object({ from: z.number(), from_usd: z.number().nullable(), percent: z.number() })),
  amounts: z.array(amountOptionSchema),
  signup_bonus: creditsSchema,
  test_mode: z.boolean(),
  payments_enabled: z.boolean(),
  checkout_provider: z.enum(['stripe', 'test']),
  stripe_publishable_key: z.string().nullable(),
  email_login: z.boolean(),
});

/** WidgetService's SignedIn: a new user key and the balance it sees. */
const signedInSchema = z.object({
  user_key: z.string(),
  balance: creditsSchema,
  email: z.string().nullable(),
  merged: z
    .object({ credits: creditsSchema, forfeited_bonus: creditsSchema })
    .optional()
    .describe("When a guest's credits moved into the account signed in to"),
});

/**
 * Registers the pages and assets on `http` and returns the JSON routes for the route table. The
 * limiters close with the server.
 */
export function widgetRoutes(http: FastifyInstance, deps: WidgetRouteDeps): AnyRoute[] {
  const paymentsInTestMode = () => deps.checkout.mode().kind === 'test';
  const stripePublishableKey = deps.env.STRIPE_PUBLISHABLE_KEY ?? null;
  const limitOf = (name: keyof WidgetLimiters) =>
    deps.rateLimits.limiter({ ...DEFAULT_LIMITS[name], ...deps.limits?.[name] }, `tollgate:widget:${name}:`);
  const limiters: WidgetLimiters = {
    session: limitOf('session'),
    loginStartPerEmail: limitOf('loginStartPerEmail'),
    loginStartPerClient: limitOf('loginStartPerClient'),
    loginVerify: limitOf('loginVerify'),
  };
  http.addHook('onClose', async () => {
    await Promise.all(Object.values(limiters).map((limiter) => limiter.close()));
  });
  const sender =
    deps.sender ?? codeSenderFromEnv(deps.env, paymentsInTestMode, (message) => http.log.warn(message));
  const widget = new WidgetService({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    keys: deps.keys,
    apps: deps.apps,
    customers: deps.customers,
    ledger: deps.ledger,
    checkout: deps.checkout,
    signupBonus: deps.signupBonus,
    merges: deps.merges,
    sender,
    limiters,
    stripePublishableKey,
    log: (message, error) => http.log.error({ err: error }, message),
  });
  const assets = new WebAssets((message, details) => http.log.info(details ?? {}, message));
  registerWidgetPages(
    http,
    widget,
    assets,
    Boolean(stripePublishableKey) && deps.checkout.name === 'stripe',
    paymentsInTestMode,
  );

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/widget/config',
      summary:
        'What the checkout widget offers: amounts with credits and bonus, minimum, currency, test mode, Stripe key',
      tag: 'Widget',
      auth: 'public',
      query: z.object({ publishable_key: publishableKey, currency: z.string().min(3).max(3).optional() }),
      response: { schema: widgetConfigSchema },
      handler: ({ query }) => widget.config(query.publishable_key, query.currency),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/widget/session',
      summary:
        'A new anonymous customer of the app and its user key, without the signup bonus until an email is verified or a payment made (rate limited per client address)',
      tag: 'Widget',
      auth: 'public',
      body: z.object({ publishable_key: publishableKey, email: email.optional() }),
      response: { status: 201, schema: signedInSchema },
      async handler({ body, request, reply }) {
        reply.code(201);
        return widget.startSession({
          publishableKey: body.publishable_key,
          email: body.email,
          client: request.ip,
        });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/widget/login/start',
      summary:
        'Send a 6-digit sign-in code by email (10 minutes, 5 attempts); test mode returns it as test_mode_code',
      tag: 'Widget',
      auth: 'public',
      body: z.object({ publishable_key: publishableKey, email }),
      response: {
        schema: z.object({
          sent: z.literal(true),
          email: z.string(),
          expires_at: timestampSchema,
          expires_in_seconds: z.number().int(),
          delivery: z.enum(['email', 'test_mode']),
          test_mode_code: z.string().optional().describe('Test mode only: the code itself'),
        }),
      },
      handler: ({ body, request }) =>
        widget.startLogin({ publishableKey: body.publishable_key, email: body.email, client: request.ip }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/widget/login/verify',
      summary:
        "Sign in with the code: a new user key for the email's customer (created, or claimed from user_key, when new; a guest user_key's credits move into an existing one); the verified email earns the signup bonus once",
      tag: 'Widget',
      auth: 'public',
      body: z.object({
        publishable_key: publishableKey,
        email,
        code: z.string().min(1).max(20),
        user_key: z.string().min(1).max(200).optional(),
      }),
      response: { schema: signedInSchema },
      handler: ({ body, request }) =>
        widget.verifyLogin({
          publishableKey: body.publishable_key,
          email: body.email,
          code: body.code,
          userKey: body.user_key,
          client: request.ip,
        }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/widget/me',
      summary: "The signed-in visitor's balance and email (user key)",
      tag: 'Widget',
      auth: ['user'],
      response: {
        schema: z.object({
          balance: creditsSchema,
          currency: z.literal('credits'),
          email: z.string().nullable(),
        }),
      },
      handler({ principal }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        return widget.me(principal.customerId);
      },
    }),
  ];
}

function registerWidgetPages(
  http: FastifyInstance,
  widget: WidgetService,
  assets: WebAssets,
  stripe: boolean,
  testMode: () => boolean,
): void {
  const sendAsset = async (
    request: FastifyRequest,
    reply: FastifyReply,
    name: AssetName,
    cacheControl: string,
  ) => {
    const asset: BuiltAsset = (await assets.get())[name];
    const etag = `"${asset.hash}"`;
    reply
      .header('content-type', asset.contentType)
      .header('cache-control', cacheControl)
      .header('etag', etag)
      .header('vary', 'accept-encoding')
      .header('x-content-type-options', 'nosniff')
      .header('cross-origin-resource-policy', 'cross-origin');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    if (acceptsGzip(request.headers['accept-encoding']))
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  };

  // Partners embed /sdk.js by a fixed URL: a short cache so fixes reach them within minutes.
  http.get('/sdk.js', (request, reply) => sendAsset(request, reply, 'sdk.js', 'public, max-age=300'));
  // The widget page names its assets by digest (?v=…), so they can be cached for good.
  http.get('/widget/widget.js', (request, reply) =>
    sendAsset(request, reply, 'widget.js', 'public, max-age=31536000, immutable'),
  );
  http.get('/widget/widget.css', (request, reply) =>
    sendAsset(request, reply, 'widget.css', 'public, max-age=31536000, immutable'),
  );

  const htmlHeaders = (reply: FastifyReply, policy: string) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', policy)
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff');

  http.get('/widget/checkout', async (request, reply) => {
    htmlHeaders(reply, widgetContentSecurityPolicy(stripe));
    const parsed = widgetPageQuery.safeParse(request.query ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply
        .code(400)
        .send(
          simplePage(
            'Checkout unavailable',
            `Invalid ${issue.path.join('.') || 'request'}: ${issue.message}`,
          ),
        );
    }
    const query = parsed.data;
    let config: Awaited<ReturnType<WidgetService['config']>>;
    try {
      config = await widget.config(query.pk, query.currency);
    } catch (error) {
      if (error instanceof TollgateError && error.code === 'invalid_request') {
        // A currency the server does not sell in: the site's settings, not the buyer, must change.
        return reply.code(400).send(simplePage('Checkout unavailable', error.message));
      }
      if (!(error instanceof TollgateError && error.code === 'invalid_api_key')) throw error;
      // The widget's own page (its stylesheet, and its script to tell the host page through onError).
      const built = await assets.get();
      return reply.code(404).send(
        widgetPage(
          {
            publishable_key: query.pk,
            host_origin: query.origin,
            mode: query.mode as CheckoutMode,
            amount: null,
            session_id: null,
            status: null,
            config: null,
            problem: { code: 'invalid_publishable_key', message: 'This publishable key is not valid.' },
          },
          { scriptHash: built['widget.js'].hash, styleHash: built['widget.css'].hash },
        ),
      );
    }
    const built = await assets.get();
    return reply.send(
      widgetPage(
        {
          publishable_key: query.pk,
          host_origin: query.origin,
          mode: query.mode as CheckoutMode,
          amount: query.amount ?? null,
          session_id: query.session_id ?? null,
          status: query.status ?? null,
          config,
        },
        { scriptHash: built['widget.js'].hash, styleHash: built['widget.css'].hash },
      ),
    );
  });

  http.get<{ Querystring: { status?: string } }>('/widget/return', async (request, reply) => {
    htmlHeaders(reply, "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'");
    return reply.send(returnPage(request.query.status === 'cancelled' ? 'cancelled' : 'success', testMode()));
  });
}
