/**
 * Delivers what the outbox owes, on every node at once. A node claims due deliveries with
 * `for update skip locked` and, in the same statement, counts the attempt and moves the row's
 * `next_attempt_at` past a lease: no other node sees the row until the lease ends, so two nodes never
 * make the same attempt. The outcome is recorded only while the row is still at that attempt (a node
 * that outlived its lease records its attempt in the history but does not overwrite the row). A node
 * killed mid-delivery leaves the row claimed until the lease ends; then any node delivers it again
 * (at least once: receivers de-duplicate on the event id).
 */
import type { Clock } from '../shared/clock.ts';
import type { Database } from '../store/database.ts';
import { type MailMessage, type SmtpSettings, sendMail } from '../widget/smtp.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMilliseconds } from './retry-schedule.ts';
import { type SendOutcome, sendWebhook } from './sender.ts';
import { DELIVERY_ID_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signing.ts';
import { guardedLookup, isPrivateHost } from './target-guard.ts';

export interface DispatcherOptions {
  pollIntervalMilliseconds: number;
  timeoutMilliseconds: number;
  /** How long a claimed delivery stays invisible to other nodes; longer than the timeout. */
  leaseMilliseconds: number;
  batchSize: number;
  retry: RetryPolicy;
  /** Mail for `balance.low` to the customer (SMTP_URL); null: email deliveries wait, unclaimed. */
  mail: { settings: SmtpSettings; from: string } | null;
  allowPrivateTargets: () => boolean;
  userAgent: string;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  pollIntervalMilliseconds: 1000,
  timeoutMilliseconds: 10_000,
  leaseMilliseconds: 60_000,
  batchSize: 20,
  retry: DEFAULT_RETRY_POLICY,
  mail: null,
  allowPrivateTargets: () => false,
  userAgent: 'Tollgate-Webhooks/0.1',
};

interface ClaimedDelivery {
  customer_id: string;
  id: string;
  event_id: string;
  channel: 'webhook' | 'email';
  attempts: number;
  event_type: string;
  event_data: Record<string, unknown>;
  event_app_id: string;
  event_created_at: Date | string;
  url: string | null;
  enabled: boolean | null;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: Date | string | null;
  email: string | null;
}

/** The body an endpoint receives; the same bytes are signed. */
export function eventBody(event: {
  id: string;
  type: string;
  app: string;
  createdAt: Date;
  data: Record<string, unknown>;
}): string {
  return JSON.stringify({
    id: event.id,
    object: 'event',
    type: event.type,
    created: Math.floor(event.createdAt.getTime() / 1000),
    app: event.app,
    data: event.data,
  });
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly lookup;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly options: DispatcherOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.lookup = guardedLookup(options.allowPrivateTargets);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.drain()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.pollIntervalMilliseconds);
    this.timer.unref();
  }

  /** Stops claiming; waits for the attempts in flight (each bounded by the timeout). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Delivers until nothing is due; returns how many attempts were made. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const made = await this.runOnce();
      total += made;
      if (made < this.options.batchSize) return total;
    }
  }

  /** One claim and its attempts, concurrently. */
  async runOnce(): Promise<number> {
    const claimed = await this.claim();
    await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
    return claimed.length;
  }

  private async claim(): Promise<ClaimedDelivery[]> {
    const now = this.clock.now();
    const leaseEnd = new Date(now.getTime() + this.options.leaseMilliseconds);
    const claimed = await this.db.query<{ customer_id: string; id: string }>(
      `with due as (
         select customer_id, id from webhook_deliveries
         where status = 'pending' and next_attempt_at <= $1::timestamptz and (channel = 'webhook' or $3::boolean)
         order by next_attempt_at
         limit $2
         for update skip locked)
       update webhook_deliveries d set attempts = d.attempts + 1, next_attempt_at = $4::timestamptz
       from due where d.customer_id = due.customer_id and d.id = due.id
       returning d.customer_id, d.id`,
      [now.toISOString(), this.options.batchSize, this.options.mail !== null, leaseEnd.toISOString()],
    );
    if (claimed.length === 0) return [];
    return this.db.query<ClaimedDelivery>(
      `select d.customer_id, d.id, d.event_id, d.channel, d.attempts,
              e.type as event_type, e.data as event_data, e.app_id as event_app_id, e.created_at as event_created_at,
              w.url, w.enabled, w.secret, w.previous_secret, w.previous_secret_expires_at, c.email
       from webhook_deliveries d
       join app_events e on e.customer_id = d.customer_id and e.id = d.event_id
       left join webhook_endpoints w on w.id = d.endpoint_id
       left join customers c on c.id = d.customer_id
       where d.id = any($1::text[])`,
      [claimed.map((row) => row.id)],
    );
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const started = this.clock.now();
    let outcome: SendOutcome;
    if (delivery.channel === 'email') {
      outcome = await this.sendEmail(delivery);
    } else if (delivery.url === null || delivery.enabled === false) {
      // Disabled (or deleted) after the event: dead now, replayable once it is enabled again.
      await this.record(
        delivery,
        started,
        { statusCode: null, error: 'endpoint disabled', latencyMilliseconds: 0 },
        true,
      );
      return;
    } else {
      outcome = await this.sendWebhook(delivery, started);
    }
    await this.record(delivery, started, outcome, false);
  }

  private async sendWebhook(delivery: ClaimedDelivery, now: Date): Promise<SendOutcome> {
    const url = delivery.url!;
    let hostname: string;
    try {
      hostname = new URL(url).hostname;
    } catch {
      return { statusCode: null, error: 'invalid URL', latencyMilliseconds: 0 };
    }
    // A literal address never reaches the lookup: checked here.
    if (!this.options.allowPrivateTargets() && isPrivateHost(hostname)) {
      return { statusCode: null, error: `refused: ${hostname} is a private address`, latencyMilliseconds: 0 };
    }
    const body = eventBody({
      id: delivery.event_id,
      type: delivery.event_type,
      app: delivery.event_app_id,
      createdAt: new Date(delivery.event_created_at),
      data: delivery.event_data,
    });
    const secrets = [delivery.secret!];
    if (
      delivery.previous_secret &&
      delivery.previous_secret_expires_at &&
      new Date(delivery.previous_secret_expires_at) > now
    ) {
      secrets.push(delivery.previous_secret);
    }
    return sendWebhook({
      url,
      body,
      timeoutMilliseconds: this.options.timeoutMilliseconds,
      lookup: this.lookup,
      headers: {
        'content-type': 'application/json',
        'user-agent': this.options.userAgent,
        [SIGNATURE_HEADER]: signatureHeader(secrets, Math.floor(now.getTime() / 1000), body),
        [EVENT_ID_HEADER]: delivery.event_id,
        [DELIVERY_ID_HEADER]: delivery.id,
      },
    });
  }

  private async sendEmail(delivery: ClaimedDelivery): Promise<SendOutcome> {
    const started = performance.now();
    const mail = this.options.mail!;
    if (!delivery.email) return { statusCode: null, error: 'customer has no email', latencyMilliseconds: 0 };
    try {
      await sendMail(mail.settings, lowBalanceMail(mail.from, delivery.email, delivery.event_data));
      return { statusCode: 250, error: null, latencyMilliseconds: Math.round(performance.now() - started) };
    } catch (error) {
      return {
        statusCode: null,
        error: error instanceof Error ? error.message : String(error),
        latencyMilliseconds: Math.round(performance.now() - started),
      };
    }
  }

  private async record(delivery: ClaimedDelivery, started: Date, outcome: SendOutcome, dead: boolean) {
    const succeeded = outcome.error === null;
    const delay =
      succeeded || dead ? null : retryDelayMilliseconds(delivery.attempts, this.options.retry, Math.random());
    const status = succeeded ? 'succeeded' : delay === null ? 'dead' : 'pending';
    const now = this.clock.now();
    const next = delay === null ? now : new Date(now.getTime() + delay);
    await this.db.transaction(async (query) => {
      await query(
        `insert into webhook_attempts (customer_id, delivery_id, attempt, started_at, latency_ms, status_code, error)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
        [
          delivery.customer_id,
          delivery.id,
          delivery.attempts,
          started.toISOString(),
          outcome.latencyMilliseconds,
          outcome.statusCode,
          outcome.error?.slice(0, 1000) ?? null,
        ],
      );
      await query(
        `update webhook_deliveries
         set status = $4, next_attempt_at = $5, last_status_code = $6, last_error = $7,
             completed_at = case when $4 = 'pending' then null else $8::timestamptz end
         where customer_id = $1 and id = $2 and attempts = $3 and status = 'pending'`,
        [
          delivery.customer_id,
          delivery.id,
          delivery.attempts,
          status,
          next.toISOString(),
          outcome.statusCode,
          outcome.error?.slice(0, 1000) ?? null,
          now.toISOString(),
        ],
      );
    });
  }
}

function lowBalanceMail(from: string, to: string, data: Record<string, unknown>): MailMessage {
  return {
    from,
    to,
    subject: 'Your credit balance is low',
    text: [
      `Your balance is ${data.balance} credits, below ${data.threshold}.`,
      '',
      'Top up to keep using the service without interruption.',
    ].join('\n'),
  };
}
