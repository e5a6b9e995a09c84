/**
 * A local fake of the Stripe HTTP API that the real `stripe` SDK talks to, plus builders for the
 * webhook events Tollgate consumes. Tests use it to drive the payments code over real HTTP with
 * real SDK serialization (form bodies, idempotency keys, retries) and real signatures.
 *
 *   const fake = await startFakeStripe();
 *   const stripe = fake.client();             // new Stripe(key, stripeClientOptions(fake.baseUrl))
 *   // or: STRIPE_API_BASE=fake.baseUrl for a server under test
 *
 * Shapes follow the API version the installed SDK pins (`Stripe.API_VERSION`, 2025-10-29.clover):
 * an invoice names its subscription under `parent.subscription_details.subscription` (the top-level
 * `invoice.subscription` went away in 2025-03-31.basil), subscription periods live on the items
 * (`items.data[].current_period_start/end`), and invoice lines carry their price in
 * `pricing.price_details.price`. The service period of a subscription invoice is
 * `lines.data[].period`; the invoice-level `period_start/period_end` describe something else
 * (the previous period on renewals) and must not be used for allowances.
 *
 * SDK connection (stripe-node v19): `{host: '127.0.0.1', port, protocol: 'http'}` — see
 * `stripeClientOptions` in src/payments/stripe-options.ts. The port must be explicit: the SDK
 * defaults it to 443 whatever the protocol. POST params arrive form-encoded in bracket notation;
 * GET and DELETE params arrive in the query string. With `maxNetworkRetries > 0` (the SDK default
 * is 2) the SDK adds an `Idempotency-Key: stripe-node-retry-…` to every POST.
 *
 * API (Bearer `sk_…`/`rk_…` required, Stripe error shape `{error: {type, message, code?, param?}}`):
 *   POST /v1/customers · GET|POST /v1/customers/:id
 *   POST /v1/products · GET /v1/products/:id · POST|GET /v1/prices (lookup_keys[], active, product,
 *     type, currency filters) · GET /v1/prices/:id
 *   POST /v1/checkout/sessions (payment | subscription | setup; hosted → `url`, embedded/custom →
 *     `client_secret`; line_items by `price` or inline `price_data`; `subscription_data[metadata]`
 *     and `payment_intent_data[metadata]` are carried onto what completion creates)
 *   GET /v1/checkout/sessions/:id (`expand[]=line_items`, and ids such as `payment_intent`,
 *     `subscription`, `customer`) · GET …/:id/line_items · POST …/:id/expire
 *   GET /v1/payment_intents/:id · GET /v1/charges/:id · GET /v1/invoices/:id
 *   POST /v1/payment_intents (`confirm` with a saved `payment_method`, e.g. `off_session`: succeeds and
 *     emits `payment_intent.succeeded`, or — for a method passed to `declinePaymentMethod` — answers
 *     402 `card_error` `card_declined` with the PaymentIntent and emits `payment_intent.payment_failed`)
 *   GET /v1/setup_intents/:id (completing a setup-mode session creates one with a saved `payment_method`)
 *   POST /v1/refunds (payment_intent | charge, optional amount) · GET /v1/refunds/:id
 *   GET|POST|DELETE /v1/subscriptions/:id (items[][id|price|price_data|quantity|deleted],
 *     proration_behavior, proration_date, cancel_at_period_end, metadata; every request is kept in
 *     `subscriptionUpdates`)
 *   anything else → 404 `invalid_request_error` "Unrecognized request URL (…)".
 * Idempotency: a repeated POST key with the same body replays the first answer
 * (`idempotent-replayed: true`); with another body → 400 `idempotency_error`.
 *
 * Outside the API: `completeCheckoutSession` (the buyer pays), `renewSubscription` (a period
 * rolls over), the hosted page at `session.url` (GET shows a Pay button; POST …/complete pays and
 * redirects 303 to `success_url`), and `failNext` (inject errors). Every state change emits the event
 * Stripe would send; with a webhook target they are POSTed there, signed, in order, after the API
 * answer (`await fake.settle()` waits for them). Without one they are only kept in `events`.
 *
 * What it does not do: validate every parameter Stripe validates, tax, discounts, currencies
 * beyond echoing them, pagination (lists are returned whole, `has_more: false`), webhook retries.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { type BillingInterval, periodBounds } from '../../src/payments/compute.ts';
import { stripeClientOptions } from '../../src/payments/stripe-options.ts';
import { type Clock, systemClock } from '../../src/shared/clock.ts';
import { randomToken } from '../../src/shared/ids.ts';

// Stripe objects are open-ended JSON here; typing every field would re-declare the SDK's types.
export type JsonObject = Record<string, any>;

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/checkout/sessions/cs_test_…/expire`. */
  path: string;
  /** The parsed parameters: the form body for POST, the query string for GET and DELETE (where the SDK puts them). */
  body: JsonObject;
  query: JsonObject;
  idempotencyKey: string | null;
  stripeVersion: string | null;
  status: number;
  response: JsonObject;
}

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WebhookDelivery {
  event: JsonObject;
  status: number;
  body: string;
  error?: string;
}

export interface InjectedFailure {
  method?: string;
  path?: string | RegExp;
  status: number;
  type?: string;
  message?: string;
  code?: string;
  /** How many matching requests fail (default 1). The SDK retries 5xx and 409 on its own. */
  times?: number;
}

export interface SubscriptionUpdateRecord {
  subscription: string;
  params: JsonObject;
  at: number;
}

export interface FakeStripeOptions {
  clock?: Clock;
  /** Where lifecycle events are POSTed, signed. Can also be set later with `setWebhook`. */
  webhook?: WebhookTarget;
}

/** Starts a fake on 127.0.0.1 with an ephemeral port. Close it with `await fake.close()`. */
export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const fake = new FakeStripe(options);
  await fake.listen();
  return fake;
}

class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: {
      type: string;
      message: string;
      code?: string;
      param?: string;
      payment_intent?: JsonObject;
    },
  ) {
    super(error.message);
  }
}

interface Route {
  method: string;
  pattern: RegExp;
  handle: (context: RouteContext) => JsonObject;
}

interface RouteContext {
  params: JsonObject;
  query: JsonObject;
  match: RegExpExecArray;
}

interface PendingProration {
  line: JsonObject;
}

export class FakeStripe {
  baseUrl = '';
  port = 0;
  readonly requests: RecordedRequest[] = [];
  /** Every event the fake generated, in order, whether or not a webhook target was set. */
  readonly events: JsonObject[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  readonly subscriptionUpdates: SubscriptionUpdateRecord[] = [];

  readonly customers = new Map<string, JsonObject>();
  readonly checkoutSessions = new Map<string, JsonObject>();
  readonly paymentIntents = new Map<string, JsonObject>();
  readonly setupIntents = new Map<string, JsonObject>();
  /** Saved payment methods whose off-session payments are declined. */
  readonly decliningPaymentMethods = new Set<string>();
  readonly charges = new Map<string, JsonObject>();
  readonly refunds = new Map<string, JsonObject>();
  readonly subscriptions = new Map<string, JsonObject>();
  readonly invoices = new Map<string, JsonObject>();
  readonly prices = new Map<string, JsonObject>();
  readonly products = new Map<string, JsonObject>();

  private readonly sessionLineItems = new Map<string, JsonObject[]>();
  private readonly pendingProrations = new Map<string, PendingProration[]>();
  private readonly idempotency = new Map<
    string,
    { method: string; path: string; bodyText: string; status: number; body: JsonObject }
  >();
  private failures: InjectedFailure[] = [];
  private webhook: WebhookTarget | undefined;
  private deliveryChain: Promise<void> = Promise.resolve();
  private readonly clock: Clock;
  private readonly server: Server;
  private readonly routes: Route[];

  constructor(options: FakeStripeOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.webhook = options.webhook;
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { type: 'api_error', message: String(error?.stack ?? error) } }),
        );
      });
    });
    this.routes = this.buildRoutes();
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.baseUrl = `http://127.0.0.1:${this.port}`;
  }

  /** Waits for pending webhook deliveries, then stops the server (dropping kept-alive SDK sockets). */
  async close(): Promise<void> {
    await this.settle();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A real SDK client pointed at this fake. `maxNetworkRetries` etc. can be passed through `config`. */
  client(config: Stripe.StripeConfig = {}, apiKey = 'sk_test_fake'): Stripe {
    return new Stripe(apiKey, { ...stripeClientOptions(this.baseUrl), ...config });
  }

  setWebhook(target: WebhookTarget | undefined): void {
    this.webhook = target;
  }

  /** Makes the next matching request(s) answer with a Stripe-shaped error. */
  failNext(failure: InjectedFailure): void {
    this.failures.push({ times: 1, ...failure });
  }

  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter(
      (request) =>
        request.method === method.toUpperCase() &&
        (typeof path === 'string' ? request.path === path : path.test(request.path)),
    );
  }

  /** Resolves once every event emitted so far has been delivered (or failed to be). */
  async settle(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.deliveryChain;
      await chain;
    } while (chain !== this.deliveryChain);
  }

  /** POSTs one event, signed, to the webhook target (or `target`). Never throws; the result is recorded. */
  async deliver(
    event: JsonObject,
    target: WebhookTarget | undefined = this.webhook,
  ): Promise<WebhookDelivery> {
    if (!target) throw new Error('no webhook target: pass one or call setWebhook()');
    const signed = signedWebhook(event, target.secret);
    let delivery: WebhookDelivery;
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: signed.headers,
        body: signed.body,
        signal: AbortSignal.timeout(15_000),
      });
      delivery = { event, status: response.status, body: await response.text() };
    } catch (error) {
      delivery = { event, status: 0, body: '', error: String(error) };
    }
    this.deliveries.push(delivery);
    return delivery;
  }

  /** Forgets all state and recordings (the server keeps running). */
  reset(): void {
    this.requests.length = 0;
    this.events.length = 0;
    this.deliveries.length = 0;
    this.subscriptionUpdates.length = 0;
    for (const map of [
      this.customers,
      this.checkoutSessions,
      this.paymentIntents,
      this.setupIntents,
      this.charges,
      this.refunds,
      this.subscriptions,
      this.invoices,
      this.prices,
      this.products,
      this.sessionLineItems,
      this.pendingProrations,
      this.idempotency,
    ]) {
      map.clear();
    }
    this.failures = [];
    this.decliningPaymentMethods.clear();
  }

  /** Off-session payments with this saved payment method are declined from now on. */
  declinePaymentMethod(paymentMethod: string): void {
    this.decliningPaymentMethods.add(paymentMethod);
  }

  // ---------------------------------------------------------------------------------------------
  // Simulated customer actions (what happens on Stripe's side, outside the API)
  // ---------------------------------------------------------------------------------------------

  /**
   * The buyer pays an open Checkout Session. Payment mode creates a PaymentIntent and a Charge;
   * subscription mode creates the customer (if needed), an active subscription and its first paid
   * invoice. Emits, in this order: `customer.subscription.created` and `invoice.paid` (subscription
   * mode), then `checkout.session.completed` — Stripe does not order these, so consumers must not
   * rely on the completed event arriving first.
   */
  completeCheckoutSession(
    id: string,
    options: { email?: string } = {},
  ): { session: JsonObject; events: JsonObject[] } {
    const session = this.checkoutSessions.get(id);
    if (!session) throw new Error(`no such checkout session ${id}`);
    if (session.status !== 'open') throw new Error(`checkout session ${id} is ${session.status}, not open`);
    const events: JsonObject[] = [];
    const email = session.customer_email ?? options.email ?? 'buyer@example.com';
    if (!session.customer && (session.mode === 'subscription' || session.customer_creation === 'always')) {
      session.customer = this.createCustomer({ email }).id;
    }
    session.customer_details = {
      address: null,
      email,
      name: null,
      phone: null,
      tax_exempt: 'none',
      tax_ids: [],
    };
    const lineItems = this.sessionLineItems.get(id) ?? [];

    if (session.mode === 'payment') {
      const paymentIntent = this.createPaidPaymentIntent({
        amount: session.amount_total,
        currency: session.currency,
        customer: session.customer,
        metadata: session._payment_intent_metadata ?? {},
      });
      session.payment_intent = paymentIntent.id;
      session.payment_status = 'paid';
    } else if (session.mode === 'subscription') {
      const subscription = this.createSubscriptionObject({
        customer: session.customer,
        items: lineItems.map((item) => ({ price: item.price, quantity: item.quantity })),
        metadata: session._subscription_metadata ?? {},
      });
      events.push(this.emit('customer.subscription.created', subscription));
      const invoice = this.createInvoice({
        subscription,
        billingReason: 'subscription_create',
        lines: subscription.items.data.map((item: JsonObject) => this.subscriptionLine(subscription, item)),
        paid: true,
      });
      subscription.latest_invoice = invoice.id;
      session.subscription = subscription.id;
      session.invoice = invoice.id;
      session.payment_status = invoice.amount_due > 0 ? 'paid' : 'no_payment_required';
      events.push(this.emit('invoice.paid', invoice));
    } else {
      // Setup mode: the card is saved on a customer (created if the session named none).
      session.customer ??= this.createCustomer({ email }).id;
      const setupIntent = {
        id: newStripeId('seti'),
        object: 'setup_intent',
        created: this.nowSeconds(),
        customer: session.customer,
        livemode: false,
        metadata: { ...(session._setup_intent_metadata ?? {}) },
        payment_method: newStripeId('pm'),
        payment_method_types: ['card'],
        status: 'succeeded',
        usage: 'off_session',
      };
      this.setupIntents.set(setupIntent.id, setupIntent);
      session.setup_intent = setupIntent.id;
      session.payment_status = 'no_payment_required';
    }
    session.status = 'complete';
    session.url = null;
    events.push(this.emit('checkout.session.completed', publicSession(session)));
    return { session: publicSession(session), events };
  }

  /**
   * Rolls a subscription into its next period: a paid `subscription_cycle` invoice (including
   * prorations left pending by `create_prorations` updates), or `invoice.payment_failed` and
   * `past_due` with `paymentFails`. A subscription set to cancel at period end is canceled instead.
   */
  renewSubscription(
    id: string,
    options: { paymentFails?: boolean } = {},
  ): { subscription: JsonObject; events: JsonObject[] } {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new Error(`no such subscription ${id}`);
    if (subscription.status === 'canceled') throw new Error(`subscription ${id} is canceled`);
    const events: JsonObject[] = [];
    const previousItems = structuredClone(subscription.items);
    const periodEnd = subscription.items.data[0].current_period_end as number;

    if (subscription.cancel_at_period_end) {
      Object.assign(subscription, {
        status: 'canceled',
        canceled_at: subscription.canceled_at ?? periodEnd,
        ended_at: periodEnd,
      });
      events.push(this.emit('customer.subscription.deleted', subscription));
      return { subscription, events };
    }

    for (const item of subscription.items.data) {
      const recurring = item.price.recurring;
      const next = periodBounds(
        new Date(subscription.billing_cycle_anchor * 1000),
        new Date(item.current_period_end * 1000),
        recurring.interval as BillingInterval,
        recurring.interval_count,
      );
      item.current_period_start = toSeconds(next.periodStart);
      item.current_period_end = toSeconds(next.periodEnd);
    }
    const previousStatus = subscription.status;
    const previousLatestInvoice = subscription.latest_invoice;
    const pending = this.pendingProrations.get(id) ?? [];
    this.pendingProrations.delete(id);
    const invoice = this.createInvoice({
      subscription,
      billingReason: 'subscription_cycle',
      lines: [
        ...pending.map((proration) => proration.line),
        ...subscription.items.data.map((item: JsonObject) => this.subscriptionLine(subscription, item)),
      ],
      paid: !options.paymentFails,
    });
    subscription.latest_invoice = invoice.id;
    subscription.status = options.paymentFails ? 'past_due' : 'active';
    const previousAttributes: JsonObject = { items: previousItems, latest_invoice: previousLatestInvoice };
    if (previousStatus !== subscription.status) previousAttributes.status = previousStatus;
    events.push(this.emit('customer.subscription.updated', subscription, previousAttributes));
    events.push(this.emit(options.paymentFails ? 'invoice.payment_failed' : 'invoice.paid', invoice));
    return { subscription, events };
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = (request.method ?? 'GET').toUpperCase();
    const bodyText = await readBody(request);
    if (url.pathname.startsWith('/c/pay/')) {
      this.handleHostedPage(method, url, response);
      return;
    }

    const query = parseStripeForm(url.search.slice(1));
    const body = method === 'POST' ? parseStripeForm(bodyText) : {};
    const params = method === 'POST' ? body : query;
    const idempotencyKey = header(request, 'idempotency-key');
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      body: params,
      query,
      idempotencyKey,
      stripeVersion: header(request, 'stripe-version'),
      status: 0,
      response: {},
    };
    this.requests.push(record);

    const send = (status: number, payload: JsonObject, extraHeaders: Record<string, string> = {}) => {
      const text = JSON.stringify(payload);
      record.status = status;
      record.response = JSON.parse(text); // a snapshot: stored objects keep changing afterwards
      response.writeHead(status, {
        'content-type': 'application/json',
        'request-id': `req_${randomToken(10)}`,
        'stripe-version': record.stripeVersion ?? Stripe.API_VERSION,
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        ...extraHeaders,
      });
      response.end(text);
    };

    const authorization = header(request, 'authorization') ?? '';
    if (!/^Bearer (sk|rk)_\S+$/.test(authorization)) {
      return send(401, {
        error: {
          type: 'invalid_request_error',
          message:
            'You did not provide an API key. You need to provide your API key in the Authorization header.',
        },
      });
    }

    const failure = this.takeFailure(method, url.pathname);
    if (failure) {
      return send(failure.status, {
        error: {
          type: failure.type ?? (failure.status >= 500 ? 'api_error' : 'invalid_request_error'),
          message: failure.message ?? 'Injected failure',
          ...(failure.code ? { code: failure.code } : {}),
        },
      });
    }

    // Stripe replays the first answer for a repeated key, and refuses the key with other parameters.
    if (method === 'POST' && idempotencyKey) {
      const previous = this.idempotency.get(idempotencyKey);
      if (previous) {
        if (previous.method === method && previous.path === url.pathname && previous.bodyText === bodyText) {
          return send(previous.status, previous.body, { 'idempotent-replayed': 'true' });
        }
        return send(400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          },
        });
      }
    }

    let status = 200;
    let payload: JsonObject;
    try {
      const route = this.routes.find(
        (candidate) => candidate.method === method && candidate.pattern.test(url.pathname),
      );
      if (!route) {
        throw new StripeApiError(404, {
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        });
      }
      payload = route.handle({ params, query, match: route.pattern.exec(url.pathname)! });
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      status = error.status;
      payload = { error: error.error };
    }
    // Stripe stores the result of any request that reached its handler, errors included (except 5xx).
    if (method === 'POST' && idempotencyKey && status < 500) {
      this.idempotency.set(idempotencyKey, {
        method,
        path: url.pathname,
        bodyText,
        status,
        body: structuredClone(payload),
      });
    }
    send(status, payload);
  }

  private takeFailure(method: string, path: string): InjectedFailure | undefined {
    const index = this.failures.findIndex(
      (failure) =>
        (!failure.method || failure.method.toUpperCase() === method) &&
        (!failure.path ||
          (typeof failure.path === 'string' ? failure.path === path : failure.path.test(path))),
    );
    if (index === -1) return undefined;
    const failure = this.failures[index];
    failure.times = (failure.times ?? 1) - 1;
    if (failure.times <= 0) this.failures.splice(index, 1);
    return failure;
  }

  /** A minimal hosted checkout page, so browser tests can click through a Stripe-mode purchase. */
  private handleHostedPage(method: string, url: URL, response: ServerResponse): void {
    const [, , , id, action] = url.pathname.split('/');
    const session = this.checkoutSessions.get(id ?? '');
    const page = this.hostedPage(method, action, session);
    if ('redirect' in page) {
      response.writeHead(303, { location: page.redirect });
      response.end();
      return;
    }
    response.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><html><head><title>Fake Stripe Checkout</title></head><body>${page.html}</body></html>`,
    );
  }

  private hostedPage(
    method: string,
    action: string | undefined,
    session: JsonObject | undefined,
  ): { status: number; html: string } | { redirect: string } {
    if (!session) return { status: 404, html: '<h1>Checkout Session not found</h1>' };
    const closed = { status: 410, html: `<h1>This Checkout Session is ${escapeHtml(session.status)}</h1>` };
    const redirectTo = (target: string | null) =>
      target ? { redirect: target.replaceAll('{CHECKOUT_SESSION_ID}', session.id) } : undefined;
    if (method === 'GET' && !action) {
      if (session.status !== 'open') return closed;
      const amount = formatMoney(session.amount_total ?? 0, session.currency ?? 'usd');
      return {
        status: 200,
        html:
          `<h1>Pay ${escapeHtml(amount)}</h1><p id="session">${escapeHtml(session.id)}</p>` +
          `<form method="post" action="/c/pay/${session.id}/complete"><button id="pay" type="submit">Pay</button></form>` +
          `<form method="post" action="/c/pay/${session.id}/cancel"><button id="cancel" type="submit">Cancel</button></form>`,
      };
    }
    if (method === 'POST' && action === 'complete') {
      if (session.status !== 'open') return closed;
      this.completeCheckoutSession(session.id);
      return redirectTo(session.success_url) ?? { status: 200, html: '<h1>Payment complete</h1>' };
    }
    if (method === 'POST' && action === 'cancel') {
      // As on Stripe, leaving the page does not expire the session.
      return redirectTo(session.cancel_url) ?? { status: 200, html: '<h1>Payment canceled</h1>' };
    }
    return { status: 405, html: '<h1>Method not allowed</h1>' };
  }

  // ---------------------------------------------------------------------------------------------
  // Resources
  // ---------------------------------------------------------------------------------------------

  private buildRoutes(): Route[] {
    const id = '([A-Za-z0-9_]+)';
    const route = (method: string, path: string, handle: Route['handle']): Route => ({
      method,
      pattern: new RegExp(`^${path}$`),
      handle,
    });
    const retrieve = (map: Map<string, JsonObject>, objectName: string) => (context: RouteContext) =>
      this.expand(this.mustFind(map, context.match[1], objectName), context.params);
    return [
      route('POST', '/v1/customers', ({ params }) => this.createCustomer(params)),
      route('GET', `/v1/customers/${id}`, retrieve(this.customers, 'customer')),
      route('POST', `/v1/customers/${id}`, ({ params, match }) => {
        const customer = this.mustFind(this.customers, match[1], 'customer');
        for (const field of ['email', 'name', 'description', 'phone'] as const) {
          if (params[field] !== undefined) customer[field] = params[field] === '' ? null : params[field];
        }
        customer.metadata = mergeMetadata(customer.metadata, params.metadata);
        return customer;
      }),

      route('POST', '/v1/products', ({ params }) => this.createProduct(params)),
      route('GET', `/v1/products/${id}`, retrieve(this.products, 'product')),
      route('POST', '/v1/prices', ({ params }) => this.createPrice(params, 'price')),
      route('GET', '/v1/prices', ({ params }) => this.listPrices(params)),
      route('GET', `/v1/prices/${id}`, retrieve(this.prices, 'price')),

      route('POST', '/v1/checkout/sessions', ({ params }) => this.createCheckoutSession(params)),
      route('GET', `/v1/checkout/sessions/${id}`, ({ params, match }) => {
        const session = this.mustFind(this.checkoutSessions, match[1], 'checkout.session');
        const result = this.expand(publicSession(session), params);
        if (expandList(params).includes('line_items')) result.line_items = this.lineItemList(session.id);
        return result;
      }),
      route('GET', `/v1/checkout/sessions/${id}/line_items`, ({ match }) => {
        this.mustFind(this.checkoutSessions, match[1], 'checkout.session');
        return this.lineItemList(match[1]);
      }),
      route('POST', `/v1/checkout/sessions/${id}/expire`, ({ match }) => {
        const session = this.mustFind(this.checkoutSessions, match[1], 'checkout.session');
        if (session.status !== 'open') {
          throw invalid(
            `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
          );
        }
        session.status = 'expired';
        session.url = null;
        this.emit('checkout.session.expired', publicSession(session));
        return publicSession(session);
      }),

      route('GET', `/v1/payment_intents/${id}`, retrieve(this.paymentIntents, 'payment_intent')),
      route('POST', '/v1/payment_intents', ({ params }) => this.createPaymentIntent(params)),
      route('GET', `/v1/setup_intents/${id}`, retrieve(this.setupIntents, 'setup_intent')),
      route('GET', `/v1/charges/${id}`, retrieve(this.charges, 'charge')),
      route('GET', `/v1/invoices/${id}`, retrieve(this.invoices, 'invoice')),
      route('POST', '/v1/refunds', ({ params }) => this.createRefund(params)),
      route('GET', `/v1/refunds/${id}`, retrieve(this.refunds, 'refund')),

      route('GET', `/v1/subscriptions/${id}`, retrieve(this.subscriptions, 'subscription')),
      route('POST', `/v1/subscriptions/${id}`, ({ params, match }) =>
        this.updateSubscription(match[1], params),
      ),
      route('DELETE', `/v1/subscriptions/${id}`, ({ params, match }) =>
        this.cancelSubscription(match[1], params),
      ),
    ];
  }

  private createCustomer(params: JsonObject): JsonObject {
    const customer = {
      id: newStripeId('cus'),
      object: 'customer',
      address: null,
      balance: 0,
      created: this.nowSeconds(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: params.description ?? null,
      discount: null,
      email: params.email ?? null,
      invoice_prefix: randomToken(6).toUpperCase().slice(0, 8),
      invoice_settings: {
        custom_fields: null,
        default_payment_method: null,
        footer: null,
        rendering_options: null,
      },
      livemode: false,
      metadata: mergeMetadata({}, params.metadata),
      name: params.name ?? null,
      phone: params.phone ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
    this.customers.set(customer.id, customer);
    return customer;
  }

  private createProduct(params: JsonObject): JsonObject {
    if (!params.name) throw missing('name');
    const product = {
      id: params.id ?? newStripeId('prod'),
      object: 'product',
      active: params.active !== 'false',
      created: this.nowSeconds(),
      default_price: null,
      description: params.description ?? null,
      images: [],
      livemode: false,
      marketing_features: [],
      metadata: mergeMetadata({}, params.metadata),
      name: params.name,
      package_dimensions: null,
      shippable: null,
      statement_descriptor: null,
      tax_code: null,
      unit_label: null,
      updated: this.nowSeconds(),
      url: null,
    };
    if (this.products.has(product.id))
      throw invalid(`Product already exists.`, 'id', 'resource_already_exists');
    this.products.set(product.id, product);
    return product;
  }

  /** Creates a price from `POST /v1/prices` params or from inline `price_data` (`prefix` names the param for errors). */
  private createPrice(params: JsonObject, prefix: string, options: { inline?: boolean } = {}): JsonObject {
    const param = (name: string) => (prefix === 'price' ? name : `${prefix}[${name}]`);
    if (!params.currency) throw missing(param('currency'));
    let unitAmount = integerParam(params.unit_amount, param('unit_amount'));
    if (unitAmount === undefined && params.unit_amount_decimal !== undefined) {
      unitAmount = Math.round(Number(params.unit_amount_decimal));
    }
    if (unitAmount === undefined) throw missing(param('unit_amount'));
    if (unitAmount < 0) throw invalid('This value must be greater than or equal to 0.', param('unit_amount'));
    let productId: string;
    if (params.product) {
      productId = params.product;
      this.mustFind(this.products, productId, 'product', param('product'), 400);
    } else if (params.product_data) {
      if (!params.product_data.name)
        throw missing(prefix === 'price' ? 'product_data[name]' : `${prefix}[product_data][name]`);
      productId = this.createProduct(params.product_data).id;
    } else {
      throw missing(param('product'));
    }
    const recurring = params.recurring
      ? {
          interval: params.recurring.interval,
          interval_count:
            integerParam(params.recurring.interval_count, param('recurring[interval_count]')) ?? 1,
          meter: null,
          trial_period_days: null,
          usage_type: params.recurring.usage_type ?? 'licensed',
        }
      : null;
    if (recurring && !['day', 'week', 'month', 'year'].includes(recurring.interval)) {
      throw invalid(
        `Invalid recurring[interval]: must be one of day, week, month, or year`,
        param('recurring[interval]'),
      );
    }
    if (params.lookup_key && params.transfer_lookup_key !== 'true') {
      for (const existing of this.prices.values()) {
        if (existing.lookup_key === params.lookup_key) {
          throw invalid(`A price (\`${existing.id}\`) already uses that lookup key.`, 'lookup_key');
        }
      }
    }
    const price = {
      id: newStripeId('price'),
      object: 'price',
      active: !options.inline && params.active !== 'false',
      billing_scheme: 'per_unit',
      created: this.nowSeconds(),
      currency: String(params.currency).toLowerCase(),
      custom_unit_amount: null,
      livemode: false,
      lookup_key: params.lookup_key ?? null,
      metadata: mergeMetadata({}, params.metadata),
      nickname: params.nickname ?? null,
      product: productId,
      recurring,
      tax_behavior: params.tax_behavior ?? 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: recurring ? 'recurring' : 'one_time',
      unit_amount: unitAmount,
      unit_amount_decimal: String(unitAmount),
    };
    this.prices.set(price.id, price);
    return price;
  }

  private listPrices(params: JsonObject): JsonObject {
    const lookupKeys = params.lookup_keys ? toArray(params.lookup_keys).map(String) : undefined;
    const data = [...this.prices.values()].filter(
      (price) =>
        (!lookupKeys || lookupKeys.includes(price.lookup_key)) &&
        (params.active === undefined || String(price.active) === params.active) &&
        (!params.product || price.product === params.product) &&
        (!params.type || price.type === params.type) &&
        (!params.currency || price.currency === params.currency),
    );
    return list(data.reverse(), '/v1/prices');
  }

  private createCheckoutSession(params: JsonObject): JsonObject {
    const mode = params.mode;
    if (!mode) throw missing('mode');
    if (!['payment', 'subscription', 'setup'].includes(mode)) {
      throw invalid(`Invalid mode: must be one of payment, setup, or subscription`, 'mode');
    }
    // Accepts the clover names (hosted/embedded/custom) and their 2026 renames.
    const uiMode = params.ui_mode ?? 'hosted';
    const redirects = uiMode === 'hosted' || uiMode === 'hosted_page';
    if (!['hosted', 'embedded', 'custom', 'hosted_page', 'embedded_page', 'elements'].includes(uiMode)) {
      throw invalid('Invalid ui_mode', 'ui_mode');
    }
    if (redirects && params.return_url) {
      throw invalid(
        'You cannot use `return_url` with a Stripe-hosted page; use `success_url`.',
        'return_url',
      );
    }
    if (!redirects && params.success_url) {
      throw invalid(
        `You cannot use \`success_url\` when \`ui_mode\` is \`${uiMode}\`; use \`return_url\`.`,
        'success_url',
      );
    }
    if (!redirects && !params.return_url && params.redirect_on_completion !== 'never') {
      throw missing('return_url');
    }
    if (params.customer) this.mustFind(this.customers, params.customer, 'customer', 'customer', 400);

    const rawItems = toArray(params.line_items ?? []);
    if (mode !== 'setup' && rawItems.length === 0) throw missing('line_items');
    const lineItems = rawItems.map((item: JsonObject, index: number) => {
      const quantity = integerParam(item.quantity, `line_items[${index}][quantity]`) ?? 1;
      if (quantity < 1) throw invalid('Quantity must be at least 1.', `line_items[${index}][quantity]`);
      let price: JsonObject;
      if (item.price)
        price = this.mustFind(this.prices, item.price, 'price', `line_items[${index}][price]`, 400);
      else if (item.price_data)
        price = this.createPrice(item.price_data, `line_items[${index}][price_data]`, { inline: true });
      else throw missing(`line_items[${index}][price]`);
      const amount = price.unit_amount * quantity;
      return {
        id: newStripeId('li'),
        object: 'item',
        amount_discount: 0,
        amount_subtotal: amount,
        amount_tax: 0,
        amount_total: amount,
        currency: price.currency,
        description: this.products.get(price.product)?.name ?? null,
        price,
        quantity,
      };
    });
    const recurringCount = lineItems.filter((item) => item.price.type === 'recurring').length;
    if (mode === 'subscription' && recurringCount === 0) {
      throw invalid(
        'You must provide at least one recurring price in `subscription` mode when using prices.',
        'line_items',
      );
    }
    if (mode === 'payment' && recurringCount > 0) {
      throw invalid(
        'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
        'line_items',
      );
    }
    const currencies = new Set(lineItems.map((item) => item.currency));
    if (currencies.size > 1) throw invalid('All line items must share one currency.', 'line_items');

    const created = this.nowSeconds();
    const sessionId = `cs_test_${randomToken(30)}`;
    const amountTotal = lineItems.reduce((sum, item) => sum + item.amount_total, 0);
    const session: JsonObject = {
      ...checkoutSessionObject({
        id: sessionId,
        created,
        mode,
        ui_mode: uiMode,
        amount_subtotal: mode === 'setup' ? null : amountTotal,
        amount_total: mode === 'setup' ? null : amountTotal,
        currency: lineItems[0]?.currency ?? params.currency ?? null,
        customer: params.customer ?? null,
        customer_email: params.customer_email ?? null,
        customer_creation:
          mode === 'payment' && !params.customer ? (params.customer_creation ?? 'if_required') : null,
        client_reference_id: params.client_reference_id ?? null,
        metadata: mergeMetadata({}, params.metadata),
        success_url: params.success_url ?? null,
        cancel_url: params.cancel_url ?? null,
        expires_at: integerParam(params.expires_at, 'expires_at') ?? created + 24 * 3600,
        url: redirects ? `${this.baseUrl}/c/pay/${sessionId}` : null,
        client_secret: redirects ? null : `${sessionId}_secret_${randomToken(16)}`,
        allow_promotion_codes:
          params.allow_promotion_codes === undefined ? null : params.allow_promotion_codes === 'true',
      }),
      ...(redirects
        ? {}
        : {
            return_url: params.return_url ?? null,
            redirect_on_completion: params.redirect_on_completion ?? 'always',
          }),
      // Kept beside the session (not returned) to seed the objects completion creates.
      _payment_intent_metadata: mergeMetadata({}, params.payment_intent_data?.metadata),
      _subscription_metadata: mergeMetadata({}, params.subscription_data?.metadata),
      _setup_intent_metadata: mergeMetadata({}, params.setup_intent_data?.metadata),
    };
    this.checkoutSessions.set(sessionId, session);
    this.sessionLineItems.set(sessionId, lineItems);
    return publicSession(session);
  }

  private lineItemList(sessionId: string): JsonObject {
    return list(this.sessionLineItems.get(sessionId) ?? [], `/v1/checkout/sessions/${sessionId}/line_items`);
  }

  private createPaidPaymentIntent(input: {
    amount: number;
    currency: string;
    customer: string | null;
    metadata: JsonObject;
    description?: string;
  }): JsonObject {
    const created = this.nowSeconds();
    const paymentIntentId = newStripeId('pi');
    const charge = {
      id: newStripeId('ch'),
      object: 'charge',
      amount: input.amount,
      amount_captured: input.amount,
      amount_refunded: 0,
      balance_transaction: newStripeId('txn'),
      billing_details: { address: null, email: null, name: null, phone: null },
      captured: true,
      created,
      currency: input.currency,
      customer: input.customer,
      description: input.description ?? null,
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: { ...input.metadata },
      outcome: {
        network_status: 'approved_by_network',
        reason: null,
        risk_level: 'normal',
        seller_message: 'Payment complete.',
        type: 'authorized',
      },
      paid: true,
      payment_intent: paymentIntentId,
      payment_method: newStripeId('pm'),
      receipt_url: null,
      refunded: false,
      status: 'succeeded',
    };
    const paymentIntent = {
      id: paymentIntentId,
      object: 'payment_intent',
      amount: input.amount,
      amount_capturable: 0,
      amount_received: input.amount,
      canceled_at: null,
      capture_method: 'automatic',
      client_secret: `${paymentIntentId}_secret_${randomToken(12)}`,
      confirmation_method: 'automatic',
      created,
      currency: input.currency,
      customer: input.customer,
      description: input.description ?? null,
      last_payment_error: null,
      latest_charge: charge.id,
      livemode: false,
      metadata: { ...input.metadata },
      payment_method: charge.payment_method,
      payment_method_types: ['card'],
      status: 'succeeded',
    };
    this.charges.set(charge.id, charge);
    this.paymentIntents.set(paymentIntent.id, paymentIntent);
    return paymentIntent;
  }

  /** A PaymentIntent confirmed at once with a saved card (what an off-session charge does). */
  private createPaymentIntent(params: JsonObject): JsonObject {
    const amount = integerParam(params.amount, 'amount');
    if (amount === undefined || amount < 1) throw missing('amount');
    if (!params.currency) throw missing('currency');
    if (params.confirm !== 'true' || !params.payment_method) {
      throw invalid('This fake only creates PaymentIntents confirmed with a saved payment_method.');
    }
    if (params.customer) this.mustFind(this.customers, params.customer, 'customer', 'customer', 400);
    const metadata = mergeMetadata({}, params.metadata);
    if (this.decliningPaymentMethods.has(params.payment_method)) {
      const declined = {
        id: newStripeId('pi'),
        object: 'payment_intent',
        amount,
        amount_received: 0,
        created: this.nowSeconds(),
        currency: params.currency,
        customer: params.customer ?? null,
        description: params.description ?? null,
        last_payment_error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' },
        livemode: false,
        metadata,
        payment_method: params.payment_method,
        status: 'requires_payment_method',
      };
      this.paymentIntents.set(declined.id, declined);
      this.emit('payment_intent.payment_failed', declined);
      throw new StripeApiError(402, {
        type: 'card_error',
        code: 'card_declined',
        message: 'Your card was declined.',
        payment_intent: structuredClone(declined),
      });
    }
    const paymentIntent = this.createPaidPaymentIntent({
      amount,
      currency: params.currency,
      customer: params.customer ?? null,
      metadata,
      description: params.description,
    });
    paymentIntent.payment_method = params.payment_method;
    this.emit('payment_intent.succeeded', paymentIntent);
    return paymentIntent;
  }

  private createRefund(params: JsonObject): JsonObject {
    let charge: JsonObject;
    if (params.charge) {
      charge = this.mustFind(this.charges, params.charge, 'charge', 'charge', 400);
    } else if (params.payment_intent) {
      const paymentIntent = this.mustFind(
        this.paymentIntents,
        params.payment_intent,
        'payment_intent',
        'payment_intent',
        400,
      );
      charge = this.charges.get(paymentIntent.latest_charge)!;
    } else {
      throw invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
      );
    }
    const refundable = charge.amount - charge.amount_refunded;
    if (refundable <= 0)
      throw invalid(`Charge ${charge.id} has already been refunded.`, undefined, 'charge_already_refunded');
    const amount = integerParam(params.amount, 'amount') ?? refundable;
    if (amount <= 0) throw invalid('This value must be greater than or equal to 1.', 'amount');
    if (amount > refundable) {
      throw invalid(
        `Refund amount (${formatMoney(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatMoney(refundable, charge.currency)})`,
        'amount',
        'amount_too_large',
      );
    }
    const refund = {
      id: newStripeId('re'),
      object: 'refund',
      amount,
      balance_transaction: newStripeId('txn'),
      charge: charge.id,
      created: this.nowSeconds(),
      currency: charge.currency,
      metadata: mergeMetadata({}, params.metadata),
      payment_intent: charge.payment_intent,
      reason: params.reason ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: 'succeeded',
      transfer_reversal: null,
    };
    this.refunds.set(refund.id, refund);
    const previousAttributes: JsonObject = { amount_refunded: charge.amount_refunded };
    charge.amount_refunded += amount;
    if (charge.amount_refunded === charge.amount) {
      previousAttributes.refunded = false;
      charge.refunded = true;
    }
    this.emit('charge.refunded', charge, previousAttributes);
    this.emit('refund.created', refund);
    return refund;
  }

  private createSubscriptionObject(input: {
    customer: string;
    items: { price: JsonObject; quantity: number }[];
    metadata: JsonObject;
  }): JsonObject {
    // Whole seconds, as Stripe stores them, so later periods computed from the anchor line up exactly.
    const created = this.nowSeconds();
    const now = new Date(created * 1000);
    const id = newStripeId('sub');
    const items = input.items.map(({ price, quantity }) => {
      const bounds = periodBounds(now, now, price.recurring.interval, price.recurring.interval_count);
      return {
        id: newStripeId('si'),
        object: 'subscription_item',
        billing_thresholds: null,
        created,
        current_period_end: toSeconds(bounds.periodEnd),
        current_period_start: toSeconds(bounds.periodStart),
        discounts: [],
        metadata: {},
        plan: planFromPrice(price),
        price,
        quantity,
        subscription: id,
        tax_rates: [],
      };
    });
    const subscription = {
      id,
      object: 'subscription',
      application: null,
      billing_cycle_anchor: created,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      cancellation_details: { comment: null, feedback: null, reason: null },
      collection_method: 'charge_automatically',
      created,
      currency: items[0]?.price.currency ?? 'usd',
      customer: input.customer,
      days_until_due: null,
      default_payment_method: null,
      description: null,
      discounts: [],
      ended_at: null,
      items: list(items, `/v1/subscription_items?subscription=${id}`),
      latest_invoice: null,
      livemode: false,
      metadata: input.metadata,
      pause_collection: null,
      pending_update: null,
      schedule: null,
      start_date: created,
      status: 'active',
      test_clock: null,
      trial_end: null,
      trial_start: null,
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  private updateSubscription(id: string, params: JsonObject): JsonObject {
    const subscription = this.mustFind(this.subscriptions, id, 'subscription');
    this.subscriptionUpdates.push({
      subscription: id,
      params: structuredClone(params),
      at: this.nowSeconds(),
    });
    // Stripe applies an update entirely or not at all; undo partial changes when a later item is invalid.
    const snapshot = structuredClone(subscription);
    try {
      return this.applySubscriptionUpdate(subscription, params);
    } catch (error) {
      for (const key of Object.keys(subscription)) delete subscription[key];
      Object.assign(subscription, snapshot);
      throw error;
    }
  }

  private applySubscriptionUpdate(subscription: JsonObject, params: JsonObject): JsonObject {
    const id = subscription.id as string;
    const now = this.nowSeconds();
    if (subscription.status === 'canceled') {
      throw invalid('A canceled subscription can only update its cancellation_details and metadata.');
    }
    const previous = structuredClone(subscription);
    const previousAttributes: JsonObject = {};
    const prorationBehavior = params.proration_behavior ?? 'create_prorations';
    if (!['create_prorations', 'always_invoice', 'none'].includes(prorationBehavior)) {
      throw invalid('Invalid proration_behavior', 'proration_behavior');
    }
    const prorationTime = integerParam(params.proration_date, 'proration_date') ?? now;
    const prorationLines: JsonObject[] = [];

    toArray(params.items ?? []).forEach((change: JsonObject, index: number) => {
      const existing = change.id
        ? subscription.items.data.find((item: JsonObject) => item.id === change.id)
        : undefined;
      if (change.id && !existing)
        throw invalid(`Invalid subscription_item id: ${change.id}`, `items[${index}][id]`);
      if (change.deleted === 'true') {
        subscription.items.data = subscription.items.data.filter((item: JsonObject) => item !== existing);
        return;
      }
      let price: JsonObject | undefined;
      if (change.price)
        price = this.mustFind(this.prices, change.price, 'price', `items[${index}][price]`, 400);
      else if (change.price_data)
        price = this.createPrice(change.price_data, `items[${index}][price_data]`, { inline: true });
      const quantity = integerParam(change.quantity, `items[${index}][quantity]`);
      if (existing) {
        const oldPrice = existing.price;
        const oldQuantity = existing.quantity;
        if (price) {
          existing.price = price;
          existing.plan = planFromPrice(price);
        }
        if (quantity !== undefined) existing.quantity = quantity;
        if (
          prorationBehavior !== 'none' &&
          (oldPrice.id !== existing.price.id || oldQuantity !== existing.quantity)
        ) {
          prorationLines.push(
            ...this.prorationLines(subscription, existing, oldPrice, oldQuantity, prorationTime),
          );
        }
      } else {
        if (!price) throw missing(`items[${index}][price]`);
        const first = subscription.items.data[0];
        subscription.items.data.push({
          id: newStripeId('si'),
          object: 'subscription_item',
          billing_thresholds: null,
          created: now,
          current_period_end: first?.current_period_end ?? now,
          current_period_start: first?.current_period_start ?? now,
          discounts: [],
          metadata: {},
          plan: planFromPrice(price),
          price,
          quantity: quantity ?? 1,
          subscription: id,
          tax_rates: [],
        });
      }
    });
    if (params.items) previousAttributes.items = previous.items;

    if (params.cancel_at_period_end !== undefined) {
      const cancelAtPeriodEnd = params.cancel_at_period_end === 'true';
      if (cancelAtPeriodEnd !== subscription.cancel_at_period_end) {
        previousAttributes.cancel_at_period_end = subscription.cancel_at_period_end;
        previousAttributes.cancel_at = subscription.cancel_at;
        previousAttributes.canceled_at = subscription.canceled_at;
        subscription.cancel_at_period_end = cancelAtPeriodEnd;
        subscription.cancel_at = cancelAtPeriodEnd
          ? (subscription.items.data[0]?.current_period_end ?? null)
          : null;
        subscription.canceled_at = cancelAtPeriodEnd ? now : null;
      }
    }
    if (params.metadata !== undefined) {
      previousAttributes.metadata = previous.metadata;
      subscription.metadata = mergeMetadata(subscription.metadata, params.metadata);
    }

    if (prorationLines.length > 0) {
      if (prorationBehavior === 'always_invoice') {
        const invoice = this.createInvoice({
          subscription,
          billingReason: 'subscription_update',
          lines: prorationLines,
          paid: true,
        });
        previousAttributes.latest_invoice = subscription.latest_invoice;
        subscription.latest_invoice = invoice.id;
        this.emit('customer.subscription.updated', subscription, previousAttributes);
        this.emit('invoice.paid', invoice);
        return subscription;
      }
      const pending = this.pendingProrations.get(id) ?? [];
      pending.push(...prorationLines.map((line) => ({ line })));
      this.pendingProrations.set(id, pending);
    }
    if (Object.keys(previousAttributes).length > 0)
      this.emit('customer.subscription.updated', subscription, previousAttributes);
    return subscription;
  }

  /** Stripe's two proration lines: a credit for unused time on the old price, a charge for the new one. */
  private prorationLines(
    subscription: JsonObject,
    item: JsonObject,
    oldPrice: JsonObject,
    oldQuantity: number,
    at: number,
  ): JsonObject[] {
    const start = item.current_period_start as number;
    const end = item.current_period_end as number;
    const clamped = Math.min(Math.max(at, start), end);
    const remaining = BigInt(end - clamped);
    const total = BigInt(end - start);
    if (total <= 0n || remaining === 0n) return [];
    const share = (amount: number) => Number((BigInt(amount) * remaining * 2n + total) / (2n * total)); // nearest cent
    const date = new Date(clamped * 1000).toISOString().slice(0, 10);
    const credit = this.subscriptionLine(
      subscription,
      { ...item, price: oldPrice, quantity: oldQuantity },
      {
        amount: -share(oldPrice.unit_amount * oldQuantity),
        proration: true,
        period: { start: clamped, end },
        description: `Unused time on ${this.products.get(oldPrice.product)?.name ?? oldPrice.id} after ${date}`,
      },
    );
    const charge = this.subscriptionLine(subscription, item, {
      amount: share(item.price.unit_amount * item.quantity),
      proration: true,
      period: { start: clamped, end },
      description: `Remaining time on ${this.products.get(item.price.product)?.name ?? item.price.id} after ${date}`,
    });
    return [credit, charge];
  }

  private cancelSubscription(id: string, _params: JsonObject): JsonObject {
    const subscription = this.mustFind(this.subscriptions, id, 'subscription');
    if (subscription.status === 'canceled') {
      throw invalid('A canceled subscription can only update its cancellation_details and metadata.');
    }
    const now = this.nowSeconds();
    Object.assign(subscription, {
      status: 'canceled',
      canceled_at: now,
      ended_at: now,
      cancellation_details: { comment: null, feedback: null, reason: 'cancellation_requested' },
    });
    this.pendingProrations.delete(id);
    this.emit('customer.subscription.deleted', subscription);
    return subscription;
  }

  private subscriptionLine(
    subscription: JsonObject,
    item: JsonObject,
    options: {
      amount?: number;
      proration?: boolean;
      period?: { start: number; end: number };
      description?: string;
    } = {},
  ): JsonObject {
    const price = item.price;
    return invoiceLineObject({
      subscription: subscription.id,
      subscription_item: item.id,
      price: price.id,
      product: price.product,
      unit_amount: price.unit_amount,
      quantity: item.quantity,
      currency: price.currency,
      amount: options.amount ?? price.unit_amount * item.quantity,
      proration: options.proration ?? false,
      period_start: options.period?.start ?? item.current_period_start,
      period_end: options.period?.end ?? item.current_period_end,
      description:
        options.description ??
        `${item.quantity} × ${this.products.get(price.product)?.name ?? price.id} (at ${formatMoney(price.unit_amount, price.currency)} / ${price.recurring?.interval ?? 'unit'})`,
    });
  }

  private createInvoice(input: {
    subscription: JsonObject;
    billingReason: string;
    lines: JsonObject[];
    paid: boolean;
  }): JsonObject {
    const { subscription } = input;
    const amount = input.lines.reduce((sum, line) => sum + line.amount, 0);
    const amountDue = Math.max(0, amount);
    let paymentIntentId: string | null = null;
    if (input.paid && amountDue > 0) {
      paymentIntentId = this.createPaidPaymentIntent({
        amount: amountDue,
        currency: subscription.currency,
        customer: subscription.customer,
        metadata: {},
        description: 'Subscription update',
      }).id;
    }
    const invoice = invoiceObject({
      customer: subscription.customer,
      subscription: subscription.id,
      subscription_metadata: subscription.metadata,
      billing_reason: input.billingReason,
      lines: input.lines,
      paid: input.paid,
      currency: subscription.currency,
      created: this.nowSeconds(),
      payment_intent: paymentIntentId,
    });
    this.invoices.set(invoice.id, invoice);
    return invoice;
  }

  private expand(object: JsonObject, params: JsonObject): JsonObject {
    const fields = expandList(params);
    if (fields.length === 0) return object;
    const result = { ...object };
    const sources: Record<string, Map<string, JsonObject>> = {
      customer: this.customers,
      payment_intent: this.paymentIntents,
      latest_charge: this.charges,
      charge: this.charges,
      subscription: this.subscriptions,
      invoice: this.invoices,
      latest_invoice: this.invoices,
      product: this.products,
    };
    for (const field of fields) {
      const source = sources[field];
      if (source && typeof result[field] === 'string' && source.has(result[field]))
        result[field] = source.get(result[field]);
    }
    return result;
  }

  private mustFind(
    map: Map<string, JsonObject>,
    id: string,
    objectName: string,
    param = 'id',
    status = 404,
  ): JsonObject {
    const found = map.get(id);
    if (!found) {
      throw new StripeApiError(status, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: `No such ${objectName}: '${id}'`,
        param,
      });
    }
    return found;
  }

  private emit(type: string, object: JsonObject, previousAttributes?: JsonObject): JsonObject {
    const event = stripeEvent(type, structuredClone(object), {
      created: this.nowSeconds(),
      previous_attributes: previousAttributes ? structuredClone(previousAttributes) : undefined,
    });
    this.events.push(event);
    const target = this.webhook;
    if (target) {
      // After the API answer has gone out, one at a time, in emission order.
      this.deliveryChain = this.deliveryChain
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(async () => {
          await this.deliver(event, target);
        });
    }
    return event;
  }

  private nowSeconds(): number {
    return toSeconds(this.clock.now());
  }
}

// -----------------------------------------------------------------------------------------------
// Event payload builders (usable without a running fake)
// -----------------------------------------------------------------------------------------------

export interface EventOptions {
  id?: string;
  created?: number;
  previous_attributes?: JsonObject;
  request?: { id: string | null; idempotency_key: string | null };
}

/** The event envelope Stripe POSTs to webhook endpoints (a v1 "snapshot" event). */
export function stripeEvent(type: string, object: JsonObject, options: EventOptions = {}): JsonObject {
  return {
    id: options.id ?? newStripeId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: options.created ?? nowSeconds(),
    data: {
      object,
      ...(options.previous_attributes ? { previous_attributes: options.previous_attributes } : {}),
    },
    livemode: false,
    pending_webhooks: 1,
    request: options.request ?? { id: null, idempotency_key: null },
    type,
  };
}

/** A complete Checkout Session object with Stripe's defaults; `fields` win. */
export function checkoutSessionObject(fields: JsonObject = {}): JsonObject {
  const id = fields.id ?? `cs_test_${randomToken(30)}`;
  const created = fields.created ?? nowSeconds();
  return {
    id,
    object: 'checkout.session',
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: null,
    amount_subtotal: fields.amount_total ?? null,
    amount_total: null,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: null,
    client_reference_id: null,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created,
    currency: 'usd',
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: null,
    customer_creation: null,
    customer_details: null,
    customer_email: null,
    discounts: [],
    expires_at: created + 24 * 3600,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    metadata: {},
    mode: 'payment',
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: fields.mode === 'subscription' ? 'always' : null,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: null,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted',
    url: `https://checkout.stripe.com/c/pay/${id}`,
    wallet_options: null,
    ...fields,
  };
}

/**
 * `checkout.session.completed` for `session` (an object from the SDK/fake, or just the fields you
 * care about). The session is marked complete and paid; payment mode gets a `payment_intent` if it
 * has none. `overrides` are merged into the session (`data.object`).
 */
export function checkoutSessionCompletedEvent(
  session: JsonObject,
  overrides: JsonObject = {},
  options: EventOptions = {},
): JsonObject {
  const base = checkoutSessionObject(withoutExpansions(session));
  const mode = base.mode;
  const object = {
    ...base,
    status: 'complete',
    payment_status: mode === 'setup' || base.amount_total === 0 ? 'no_payment_required' : 'paid',
    payment_intent: mode === 'payment' ? (base.payment_intent ?? newStripeId('pi')) : base.payment_intent,
    subscription: mode === 'subscription' ? (base.subscription ?? newStripeId('sub')) : base.subscription,
    url: null,
    ...overrides,
  };
  return stripeEvent('checkout.session.completed', object, options);
}

/** `checkout.session.expired` for `session`; `overrides` are merged into the session. */
export function checkoutSessionExpiredEvent(
  session: JsonObject,
  overrides: JsonObject = {},
  options: EventOptions = {},
): JsonObject {
  const object = {
    ...checkoutSessionObject(withoutExpansions(session)),
    status: 'expired',
    payment_status: 'unpaid',
    url: null,
    ...overrides,
  };
  return stripeEvent('checkout.session.expired', object, options);
}

export interface ChargeRefundedSpec {
  payment_intent: string;
  /** What the charge captured, in cents. */
  amount: number;
  /** CUMULATIVE amount refunded on the charge so far, in cents (as Stripe reports it). */
  amount_refunded: number;
  /** The cumulative amount before this refund, for `previous_attributes` (default 0). */
  previous_amount_refunded?: number;
  charge?: string;
  currency?: string;
  customer?: string | null;
  metadata?: JsonObject;
}

/** `charge.refunded`: the Charge after a (partial or full) refund. `refunded` is true only when fully refunded. */
export function chargeRefundedEvent(
  spec: ChargeRefundedSpec,
  overrides: JsonObject = {},
  options: EventOptions = {},
): JsonObject {
  const previousAmountRefunded = spec.previous_amount_refunded ?? 0;
  const refunded = spec.amount_refunded >= spec.amount;
  const charge = {
    id: spec.charge ?? newStripeId('ch'),
    object: 'charge',
    amount: spec.amount,
    amount_captured: spec.amount,
    amount_refunded: spec.amount_refunded,
    balance_transaction: newStripeId('txn'),
    billing_details: { address: null, email: null, name: null, phone: null },
    captured: true,
    created: nowSeconds(),
    currency: spec.currency ?? 'usd',
    customer: spec.customer ?? null,
    description: null,
    disputed: false,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: spec.metadata ?? {},
    paid: true,
    payment_intent: spec.payment_intent,
    payment_method: newStripeId('pm'),
    receipt_url: null,
    refunded,
    status: 'succeeded',
    ...overrides,
  };
  const previousAttributes: JsonObject = { amount_refunded: previousAmountRefunded };
  if (refunded && previousAmountRefunded < spec.amount) previousAttributes.refunded = false;
  return stripeEvent('charge.refunded', charge, { previous_attributes: previousAttributes, ...options });
}

export interface PriceSpec {
  id: string;
  unit_amount?: number;
  product?: string;
  currency?: string;
  recurring?: { interval: BillingInterval; interval_count?: number };
  lookup_key?: string | null;
  metadata?: JsonObject;
}

export interface InvoiceSpec {
  subscription: string;
  customer: string;
  /** Service period of the subscription line, in Unix seconds (`lines.data[0].period`). */
  period_start: number;
  period_end: number;
  /** A price id, or the price's details. The amount is `unit_amount × quantity` unless `amount_paid` says otherwise. */
  price?: string | PriceSpec;
  quantity?: number;
  amount_paid?: number;
  billing_reason?:
    | 'subscription_create'
    | 'subscription_cycle'
    | 'subscription_update'
    | 'subscription_threshold'
    | 'manual';
  subscription_item?: string;
  subscription_metadata?: JsonObject;
  currency?: string;
  /** Replace the default single line (e.g. proration lines built with `invoiceLineObject`). */
  lines?: JsonObject[];
  id?: string;
  created?: number;
  attempt_count?: number;
}

/** `invoice.paid` for a subscription invoice, in the clover shape (see the file header). */
export function invoicePaidEvent(
  spec: InvoiceSpec,
  overrides: JsonObject = {},
  options: EventOptions = {},
): JsonObject {
  return stripeEvent('invoice.paid', { ...invoiceFromSpec(spec, true), ...overrides }, options);
}

/** `invoice.payment_failed`: the invoice stays open, nothing paid, a retry scheduled. */
export function invoicePaymentFailedEvent(
  spec: InvoiceSpec,
  overrides: JsonObject = {},
  options: EventOptions = {},
): JsonObject {
  return stripeEvent('invoice.payment_failed', { ...invoiceFromSpec(spec, false), ...overrides }, options);
}

function invoiceFromSpec(spec: InvoiceSpec, paid: boolean): JsonObject {
  const price: PriceSpec =
    typeof spec.price === 'string' ? { id: spec.price } : (spec.price ?? { id: newStripeId('price') });
  const quantity = spec.quantity ?? 1;
  const currency = spec.currency ?? price.currency ?? 'usd';
  const amount = spec.amount_paid ?? (price.unit_amount ?? 0) * quantity;
  const lines = spec.lines ?? [
    invoiceLineObject({
      subscription: spec.subscription,
      subscription_item: spec.subscription_item ?? newStripeId('si'),
      price: price.id,
      product: price.product ?? newStripeId('prod'),
      unit_amount: price.unit_amount ?? amount,
      quantity,
      currency,
      amount,
      proration: false,
      period_start: spec.period_start,
      period_end: spec.period_end,
    }),
  ];
  const invoice = invoiceObject({
    id: spec.id,
    customer: spec.customer,
    subscription: spec.subscription,
    subscription_metadata: spec.subscription_metadata ?? {},
    billing_reason: spec.billing_reason ?? 'subscription_cycle',
    lines,
    paid,
    currency,
    created: spec.created ?? spec.period_start,
    attempt_count: spec.attempt_count,
  });
  return invoice;
}

export interface InvoiceLineSpec {
  subscription: string;
  subscription_item: string;
  price: string;
  product: string;
  unit_amount: number;
  quantity: number;
  currency: string;
  amount: number;
  proration: boolean;
  period_start: number;
  period_end: number;
  description?: string;
}

/** One invoice line item for a subscription item (clover: price under `pricing`, origin under `parent`). */
export function invoiceLineObject(spec: InvoiceLineSpec): JsonObject {
  return {
    id: newStripeId('il'),
    object: 'line_item',
    amount: spec.amount,
    currency: spec.currency,
    description: spec.description ?? `${spec.quantity} × ${spec.product}`,
    discount_amounts: [],
    discountable: !spec.proration,
    discounts: [],
    invoice: null,
    livemode: false,
    metadata: {},
    parent: {
      type: 'subscription_item_details',
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: spec.proration ? newStripeId('ii') : null,
        proration: spec.proration,
        proration_details: { credited_items: null },
        subscription: spec.subscription,
        subscription_item: spec.subscription_item,
      },
    },
    period: { end: spec.period_end, start: spec.period_start },
    pretax_credit_amounts: [],
    pricing: {
      type: 'price_details',
      price_details: { price: spec.price, product: spec.product },
      unit_amount_decimal: String(spec.unit_amount),
    },
    quantity: spec.quantity,
    subscription: spec.subscription,
    taxes: [],
  };
}

function invoiceObject(input: {
  id?: string;
  customer: string;
  subscription: string;
  subscription_metadata: JsonObject;
  billing_reason: string;
  lines: JsonObject[];
  paid: boolean;
  currency: string;
  created: number;
  payment_intent?: string | null;
  attempt_count?: number;
}): JsonObject {
  const id = input.id ?? newStripeId('in');
  const total = input.lines.reduce((sum, line) => sum + line.amount, 0);
  const amountDue = Math.max(0, total);
  const lines = input.lines.map((line) => ({ ...line, invoice: id }));
  // Stripe dates the invoice-level period at the invoice's creation on a first invoice and at the
  // previous period on renewals; the service period is on the lines.
  const periodAnchor = input.created;
  return {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Tollgate Test',
    amount_due: amountDue,
    amount_overpaid: 0,
    amount_paid: input.paid ? amountDue : 0,
    amount_remaining: input.paid ? 0 : amountDue,
    amount_shipping: 0,
    attempt_count: input.attempt_count ?? 1,
    attempted: true,
    auto_advance: !input.paid,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    billing_reason: input.billing_reason,
    collection_method: 'charge_automatically',
    created: input.created,
    currency: input.currency,
    customer: input.customer,
    customer_email: null,
    customer_name: null,
    default_payment_method: null,
    description: null,
    discounts: [],
    due_date: null,
    effective_at: input.created,
    ending_balance: 0,
    footer: null,
    hosted_invoice_url: `https://invoice.stripe.com/i/${id}`,
    invoice_pdf: `https://pay.stripe.com/invoice/${id}/pdf`,
    issuer: { type: 'self' },
    last_finalization_error: null,
    lines: list(lines, `/v1/invoices/${id}/lines`),
    livemode: false,
    metadata: {},
    next_payment_attempt: input.paid ? null : input.created + 3 * 24 * 3600,
    number: `${randomToken(4).toUpperCase().slice(0, 6)}-0001`,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { metadata: input.subscription_metadata, subscription: input.subscription },
    },
    ...(input.payment_intent
      ? {
          payments: list(
            [
              {
                id: newStripeId('inpay'),
                object: 'invoice_payment',
                amount_paid: amountDue,
                amount_requested: amountDue,
                currency: input.currency,
                invoice: id,
                is_default: true,
                livemode: false,
                payment: { type: 'payment_intent', payment_intent: input.payment_intent },
                status: 'paid',
              },
            ],
            `/v1/invoice_payments?invoice=${id}`,
          ),
        }
      : {}),
    period_end: periodAnchor,
    period_start: periodAnchor,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: input.paid ? 'paid' : 'open',
    status_transitions: {
      finalized_at: input.created,
      marked_uncollectible_at: null,
      paid_at: input.paid ? input.created : null,
      voided_at: null,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: input.created,
  };
}

export interface SubscriptionSpec {
  id?: string;
  customer: string;
  price: string | PriceSpec;
  quantity?: number;
  status?:
    | 'active'
    | 'past_due'
    | 'canceled'
    | 'incomplete'
    | 'incomplete_expired'
    | 'trialing'
    | 'unpaid'
    | 'paused';
  current_period_start: number;
  current_period_end: number;
  cancel_at_period_end?: boolean;
  canceled_at?: number | null;
  ended_at?: number | null;
  metadata?: JsonObject;
  subscription_item?: string;
}

/** A subscription object with one item (clover: periods on the item). Pass a full object to keep it as is. */
export function subscriptionObject(spec: SubscriptionSpec | JsonObject): JsonObject {
  if ((spec as JsonObject).object === 'subscription') return spec as JsonObject;
  const input = spec as SubscriptionSpec;
  const id = input.id ?? newStripeId('sub');
  const priceSpec: PriceSpec = typeof input.price === 'string' ? { id: input.price } : input.price;
  const price = {
    id: priceSpec.id,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: input.current_period_start,
    currency: priceSpec.currency ?? 'usd',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: priceSpec.lookup_key ?? null,
    metadata: priceSpec.metadata ?? {},
    nickname: null,
    product: priceSpec.product ?? newStripeId('prod'),
    recurring: {
      interval: priceSpec.recurring?.interval ?? 'month',
      interval_count: priceSpec.recurring?.interval_count ?? 1,
      meter: null,
      trial_period_days: null,
      usage_type: 'licensed',
    },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: priceSpec.unit_amount ?? null,
    unit_amount_decimal: priceSpec.unit_amount === undefined ? null : String(priceSpec.unit_amount),
  };
  const item = {
    id: input.subscription_item ?? newStripeId('si'),
    object: 'subscription_item',
    billing_thresholds: null,
    created: input.current_period_start,
    current_period_end: input.current_period_end,
    current_period_start: input.current_period_start,
    discounts: [],
    metadata: {},
    plan: planFromPrice(price),
    price,
    quantity: input.quantity ?? 1,
    subscription: id,
    tax_rates: [],
  };
  return {
    id,
    object: 'subscription',
    application: null,
    billing_cycle_anchor: input.current_period_start,
    cancel_at: input.cancel_at_period_end ? input.current_period_end : null,
    cancel_at_period_end: input.cancel_at_period_end ?? false,
    canceled_at: input.canceled_at ?? null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically',
    created: input.current_period_start,
    currency: price.currency,
    customer: input.customer,
    days_until_due: null,
    default_payment_method: null,
    description: null,
    discounts: [],
    ended_at: input.ended_at ?? null,
    items: list([item], `/v1/subscription_items?subscription=${id}`),
    latest_invoice: null,
    livemode: false,
    metadata: input.metadata ?? {},
    pause_collection: null,
    pending_update: null,
    schedule: null,
    start_date: input.current_period_start,
    status: input.status ?? 'active',
    test_clock: null,
    trial_end: null,
    trial_start: null,
  };
}

/** `customer.subscription.updated`, with `previous_attributes` naming what changed (e.g. `{items: …}`). */
export function subscriptionUpdatedEvent(
  subscription: SubscriptionSpec | JsonObject,
  previousAttributes: JsonObject = {},
  options: EventOptions = {},
): JsonObject {
  return stripeEvent('customer.subscription.updated', subscriptionObject(subscription), {
    previous_attributes: previousAttributes,
    ...options,
  });
}

/** `customer.subscription.deleted`: the subscription has ended (status `canceled`). */
export function subscriptionDeletedEvent(
  subscription: SubscriptionSpec | JsonObject,
  options: EventOptions = {},
): JsonObject {
  const object = subscriptionObject(subscription);
  const endedAt = object.ended_at ?? nowSeconds();
  return stripeEvent(
    'customer.subscription.deleted',
    { ...object, status: 'canceled', ended_at: endedAt, canceled_at: object.canceled_at ?? endedAt },
    options,
  );
}

/**
 * A webhook request as Stripe would send it: the exact body and a `stripe-signature` header made by
 * the SDK's own `webhooks.generateTestHeaderString`, so `constructEvent` accepts it.
 */
export function signedWebhook(
  payload: JsonObject | string,
  secret: string,
  options: { timestamp?: number } = {},
): { body: string; headers: { 'stripe-signature': string; 'content-type': string } } {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload, null, 2);
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    timestamp: options.timestamp,
  });
  return { body, headers: { 'stripe-signature': signature, 'content-type': 'application/json' } };
}

// -----------------------------------------------------------------------------------------------
// Form bodies
// -----------------------------------------------------------------------------------------------

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Parses Stripe's `application/x-www-form-urlencoded` bracket notation (what stripe-node's `qs`
 * produces with `arrayFormat: 'indices'`): `line_items[0][price_data][unit_amount]=500`,
 * `metadata[key]=v`, `expand[0]=line_items`, and also `expand[]=x`. Values stay strings, as Stripe
 * receives them; objects whose keys are all indices become arrays.
 */
export function parseStripeForm(text: string): JsonObject {
  const root: JsonObject = {};
  if (!text) return root;
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const separator = pair.indexOf('=');
    const key = decodeFormComponent(separator === -1 ? pair : pair.slice(0, separator));
    const value = decodeFormComponent(separator === -1 ? '' : pair.slice(separator + 1));
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    const path = match
      ? [match[1], ...[...match[2].matchAll(/\[([^[\]]*)\]/g)].map((part) => part[1])]
      : [key];
    if (path.some((segment) => FORBIDDEN_KEYS.has(segment))) continue;
    let node = root;
    for (let index = 0; index < path.length; index += 1) {
      let segment = path[index];
      if (segment === '') segment = String(Object.keys(node).length); // `name[]` appends
      if (index === path.length - 1) {
        node[segment] = value;
      } else {
        if (typeof node[segment] !== 'object' || node[segment] === null) node[segment] = {};
        node = node[segment];
      }
    }
  }
  return indexedObjectsToArrays(root) as JsonObject;
}

function indexedObjectsToArrays(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const object = value as JsonObject;
  const keys = Object.keys(object);
  for (const key of keys) object[key] = indexedObjectsToArrays(object[key]);
  if (keys.length > 0 && keys.every((key) => /^\d+$/.test(key))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((key) => object[key]);
  }
  return object;
}

function decodeFormComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

// -----------------------------------------------------------------------------------------------
// Small helpers
// -----------------------------------------------------------------------------------------------

function newStripeId(prefix: string): string {
  return `${prefix}_${randomToken(18)}`;
}

function nowSeconds(): number {
  return toSeconds(new Date());
}

function toSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function list(data: JsonObject[], url: string): JsonObject {
  return { object: 'list', data, has_more: false, total_count: data.length, url };
}

function toArray(value: unknown): JsonObject[] {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') return Object.values(value);
  return value === undefined || value === '' ? [] : [value as JsonObject];
}

function expandList(params: JsonObject): string[] {
  return toArray(params.expand ?? []).map(String);
}

function mergeMetadata(existing: JsonObject | null | undefined, update: unknown): JsonObject {
  const result: JsonObject = { ...(existing ?? {}) };
  if (update === '') return {}; // `metadata=` clears all keys
  if (update && typeof update === 'object') {
    for (const [key, value] of Object.entries(update as JsonObject)) {
      if (value === '') delete result[key];
      else result[key] = String(value);
    }
  }
  return result;
}

function integerParam(value: unknown, param: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value))
    throw invalid(`Invalid integer: ${String(value)}`, param);
  return Number(value);
}

function planFromPrice(price: JsonObject): JsonObject {
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: 'per_unit',
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? 'month',
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata ?? {},
    meter: null,
    nickname: price.nickname ?? null,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'licensed',
  };
}

/** The session as the API returns it: internal `_…` fields stripped. */
function publicSession(session: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(session)) if (!key.startsWith('_')) result[key] = value;
  return result;
}

function withoutExpansions(session: JsonObject): JsonObject {
  const { line_items: _lineItems, ...rest } = session;
  return rest;
}

function missing(param: string): StripeApiError {
  return new StripeApiError(400, {
    type: 'invalid_request_error',
    code: 'parameter_missing',
    message: `Missing required param: ${param}.`,
    param,
  });
}

function invalid(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError(400, {
    type: 'invalid_request_error',
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  });
}

function formatMoney(amount: number, currency: string): string {
  const sign = amount < 0 ? '-' : '';
  const absolute = Math.abs(amount);
  const prefix = String(currency).toLowerCase() === 'usd' ? '$' : `${String(currency).toUpperCase()} `;
  return `${sign}${prefix}${Math.floor(absolute / 100)}.${String(absolute % 100).padStart(2, '0')}`;
}

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
