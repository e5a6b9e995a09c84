/**
 * Outbound webhooks: the endpoints an app registers, its events and their deliveries, low-balance
 * thresholds, and `verifyWebhook` for the receiving side (Web Crypto only, so it runs on Node 20+,
 * Deno, Bun and edge runtimes).
 */
import type { RequestOptions, Transport } from './transport.ts';

const segment = encodeURIComponent;

export type WebhookEventType =
  | 'purchase.completed'
  | 'purchase.refunded'
  | 'balance.low'
  | 'balance.depleted'
  | 'grant.expired'
  | 'hold.expired'
  | 'subscription.created'
  | 'subscription.updated'
  | 'subscription.canceled'
  | 'subscription.renewed'
  | 'auto_topup.succeeded'
  | 'auto_topup.failed'
  | 'spend_limit.reached';

/** What an endpoint receives (and `GET /v1/events` lists). `id` is the same on every retry and replay. */
export interface WebhookEvent<Data = Record<string, unknown>> {
  id: string;
  object: 'event';
  type: WebhookEventType | (string & {});
  /** Unix seconds. */
  created: number;
  app: string;
  customer?: string;
  data: Data & { customer: string; external_id: string | null };
}

export interface WebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  app: string;
  url: string;
  description: string | null;
  events: (WebhookEventType | '*')[];
  enabled: boolean;
  /** Only in the answers of create and rotate_secret. */
  secret?: string;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookEndpointCreateParams {
  url: string;
  /** Event types, or `['*']` for every type. */
  events: (WebhookEventType | '*')[];
  description?: string | null;
  enabled?: boolean;
  /** With the admin key: the app it belongs to. */
  app?: string;
}

export interface WebhookAttempt {
  attempt: number;
  started_at: string;
  latency_ms: number | null;
  status_code: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  object: 'webhook_delivery';
  event: string;
  endpoint: string | null;
  channel: 'webhook' | 'email';
  status: 'pending' | 'succeeded' | 'dead';
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
  attempts: WebhookAttempt[];
}

export interface WebhookList<Item> {
  object: 'list';
  data: Item[];
  has_more?: boolean;
}

export interface BalanceAlerts {
  object: 'alerts';
  app?: string;
  customer?: string;
  /** Credits; null: none of its own (a customer then follows the app's). */
  low_balance: number | null;
  effective_low_balance?: number | null;
  level?: 'above' | 'low' | 'depleted';
}

/**
 * An app's webhook endpoints (secret key; the admin key names the app with `app`).
 *
 * @example
 * ```ts
 * const endpoint = await tollgate.webhookEndpoints.create({
 *   url: 'https://app.example/hooks/tollgate',
 *   events: ['purchase.completed', 'balance.low'],
 * });
 * saveSecret(endpoint.secret); // shown once
 * ```
 */
export class WebhookEndpoints {
  constructor(private readonly transport: Transport) {}

  async create(params: WebhookEndpointCreateParams, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.transport.request(
      { method: 'POST', path: '/v1/webhook-endpoints', body: params, auth: 'secret', retry: 'unsafe' },
      options,
    );
  }

  async list(params: { app?: string } = {}, options?: RequestOptions): Promise<WebhookList<WebhookEndpoint>> {
    return this.transport.request(
      { method: 'GET', path: '/v1/webhook-endpoints', query: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async retrieve(id: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.transport.request(
      { method: 'GET', path: `/v1/webhook-endpoints/${segment(id)}`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async update(
    id: string,
    params: Partial<Omit<WebhookEndpointCreateParams, 'app'>>,
    options?: RequestOptions,
  ): Promise<WebhookEndpoint> {
    return this.transport.request(
      {
        method: 'PATCH',
        path: `/v1/webhook-endpoints/${segment(id)}`,
        body: params,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  async remove(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.request(
      { method: 'DELETE', path: `/v1/webhook-endpoints/${segment(id)}`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /** A new signing secret; the old one keeps signing (a second `v1`) for `previous_secret_valid_seconds`. */
  async rotateSecret(
    id: string,
    params: { previous_secret_valid_seconds?: number } = {},
    options?: RequestOptions,
  ): Promise<WebhookEndpoint> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/webhook-endpoints/${segment(id)}/rotate-secret`,
        body: params,
        auth: 'secret',
        retry: 'unsafe',
      },
      options,
    );
  }
}

/**
 * An app's events, their deliveries (with every attempt) and replays.
 *
 * @example
 * ```ts
 * const { data } = await tollgate.events.deliveries({ status: 'dead' });
 * for (const delivery of data) await tollgate.events.replayDelivery(delivery.id);
 * ```
 */
export class Events {
  constructor(private readonly transport: Transport) {}

  async list(
    params: { type?: WebhookEventType; customer?: string; starting_after?: string; limit?: number } = {},
    options?: RequestOptions,
  ): Promise<WebhookList<WebhookEvent>> {
    return this.transport.request(
      { method: 'GET', path: '/v1/events', query: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async retrieve(id: string, options?: RequestOptions): Promise<WebhookEvent> {
    return this.transport.request(
      { method: 'GET', path: `/v1/events/${segment(id)}`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /** Sends an event again (same id): to `endpoint`, or to every enabled endpoint that wants its type. */
  async replay(
    id: string,
    params: { endpoint?: string } = {},
    options?: RequestOptions,
  ): Promise<WebhookList<WebhookDelivery>> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/events/${segment(id)}/replay`,
        body: params,
        auth: 'secret',
        retry: 'unsafe',
      },
      options,
    );
  }

  async deliveries(
    params: { event?: string; endpoint?: string; status?: WebhookDelivery['status']; limit?: number } = {},
    options?: RequestOptions,
  ): Promise<WebhookList<WebhookDelivery>> {
    return this.transport.request(
      { method: 'GET', path: '/v1/webhook-deliveries', query: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async delivery(id: string, options?: RequestOptions): Promise<WebhookDelivery> {
    return this.transport.request(
      { method: 'GET', path: `/v1/webhook-deliveries/${segment(id)}`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async replayDelivery(id: string, options?: RequestOptions): Promise<WebhookDelivery> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/webhook-deliveries/${segment(id)}/replay`,
        auth: 'secret',
        retry: 'unsafe',
      },
      options,
    );
  }
}

/**
 * Low-balance thresholds, in credits: the app's default and a customer's own. Crossing it downwards
 * emits `balance.low` once (re-armed when the balance is back at or above it).
 *
 * @example
 * ```ts
 * await tollgate.balanceAlerts.setForApp('app_…', 5);
 * await tollgate.balanceAlerts.setForCustomer('user_42', 20);
 * ```
 */
export class BalanceAlertSettings {
  constructor(private readonly transport: Transport) {}

  async forApp(app: string, options?: RequestOptions): Promise<BalanceAlerts> {
    return this.transport.request(
      { method: 'GET', path: `/v1/apps/${segment(app)}/alerts`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async setForApp(
    app: string,
    threshold: number | string | null,
    options?: RequestOptions,
  ): Promise<BalanceAlerts> {
    return this.transport.request(
      {
        method: 'PUT',
        path: `/v1/apps/${segment(app)}/alerts`,
        body: { low_balance: threshold },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  async forCustomer(customer: string, options?: RequestOptions): Promise<BalanceAlerts> {
    return this.transport.request(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/alerts`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  async setForCustomer(
    customer: string,
    threshold: number | string | null,
    options?: RequestOptions,
  ): Promise<BalanceAlerts> {
    return this.transport.request(
      {
        method: 'PUT',
        path: `/v1/customers/${segment(customer)}/alerts`,
        body: { low_balance: threshold },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }
}

// ------------------------------------------------------------------------------------- verification

/** Thrown by `verifyWebhook` when a request was not signed by Tollgate with this secret, or is too old. */
export class WebhookSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

export interface VerifyWebhookOptions {
  /** How far the signature's timestamp may be from now, in seconds (default 300). 0 disables the check. */
  toleranceSeconds?: number;
  /** Now, in Unix seconds (tests). */
  nowSeconds?: number;
}

const encoder = new TextEncoder();

async function hmacHex(secret: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(payload)));
  return Array.from(signature, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Compares without stopping at the first difference, so timing says nothing about the signature. */
function sameText(left: string, right: string): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index += 1)
    difference |= left.charCodeAt(index) ^ right.charCodeAt(index);
  return difference === 0;
}

/**
 * Checks a delivery's `Tollgate-Signature` (`t=…,v1=…[,v1=…]`) against the raw body and the endpoint's
 * secret, then parses the event. Pass the body exactly as received (not re-serialised JSON). Any `v1`
 * may match (two are sent while a rotated secret is still honoured). De-duplicate on `event.id`:
 * delivery is at least once.
 *
 * @throws {WebhookSignatureError} when no signature matches or the timestamp is outside the tolerance.
 * @example
 * ```ts
 * app.post('/hooks/tollgate', express.raw({ type: 'application/json' }), async (req, res) => {
 *   const event = await verifyWebhook(req.body.toString('utf8'), req.get('Tollgate-Signature'), secret);
 *   if (await alreadyHandled(event.id)) return res.sendStatus(200);
 *   // …
 * });
 * ```
 */
export async function verifyWebhook<Data = Record<string, unknown>>(
  rawBody: string,
  signatureHeader: string | null | undefined,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent<Data>> {
  if (!signatureHeader) throw new WebhookSignatureError('No Tollgate-Signature header');
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of signatureHeader.split(',')) {
    const [name, value] = part.trim().split('=', 2) as [string, string | undefined];
    if (name === 't' && value && /^\d+$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && value) signatures.push(value.toLowerCase());
  }
  if (timestamp === null || signatures.length === 0) {
    throw new WebhookSignatureError('Tollgate-Signature must carry t= and at least one v1=');
  }
  const expected = await hmacHex(secret, `${timestamp}.${rawBody}`);
  if (!signatures.some((signature) => sameText(signature, expected))) {
    throw new WebhookSignatureError('No signature matches this body and secret');
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (tolerance > 0 && Math.abs(now - timestamp) > tolerance) {
    throw new WebhookSignatureError(`The signature's timestamp is more than ${tolerance} s from now`);
  }
  return JSON.parse(rawBody) as WebhookEvent<Data>;
}

/** `verifyWebhook` under Stripe's name, for code written against `stripe.webhooks.constructEvent`. */
export const constructEvent = verifyWebhook;
