/**
 * What an app manages: its endpoints (URL, event types, enabled, signing secret), its events and their
 * deliveries (with each attempt), replays, and the low-balance thresholds. Every read and write is
 * scoped to the app; another app's ids answer 404 like unknown ones.
 */
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { Database } from '../store/database.ts';
import { ALL_EVENTS } from './events.ts';
import { newSigningSecret } from './signing.ts';
import { isPrivateHost } from './target-guard.ts';

export interface EndpointRow {
  id: string;
  app_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface EventRow {
  id: string;
  app_id: string;
  customer_id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date | string;
}

export interface DeliveryRow {
  id: string;
  customer_id: string;
  event_id: string;
  app_id: string;
  endpoint_id: string | null;
  channel: 'webhook' | 'email';
  status: 'pending' | 'succeeded' | 'dead';
  attempts: number;
  next_attempt_at: Date | string;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date | string;
  completed_at: Date | string | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: Date | string;
  latency_ms: number | null;
  status_code: number | null;
  error: string | null;
}

export interface EndpointInput {
  url: string;
  eventTypes: string[];
  description?: string | null;
  enabled?: boolean;
}

/** Who asks: an app (its own resources) or the operator (any app's). */
export type Scope = { appId: string } | { appId: null };

const MAX_ENDPOINTS_PER_APP = 20;

export class WebhooksService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** Whether endpoints may point at private addresses (target-guard.ts); decided when the server listens. */
    private readonly privateTargetsAllowed: () => boolean,
    /** Config `alerts.low_balance`: the threshold when neither the customer nor its app sets one. */
    private readonly defaultLowBalanceMicros: bigint | null = null,
  ) {}

  private checkUrl(text: string): void {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TollgateError('invalid_request', 'url must be an http or https URL', { param: 'url' });
    }
    if (url.username || url.password) {
      throw new TollgateError('invalid_request', 'url must not carry credentials', { param: 'url' });
    }
    if (!this.privateTargetsAllowed() && isPrivateHost(url.hostname)) {
      throw new TollgateError(
        'invalid_request',
        'url points at a private or loopback address, which this server does not deliver to (TOLLGATE_WEBHOOK_PRIVATE_TARGETS)',
        { param: 'url' },
      );
    }
  }

  async createEndpoint(appId: string, input: EndpointInput): Promise<EndpointRow> {
    this.checkUrl(input.url);
    const [counted] = await this.db.query<{ count: string | number }>(
      'select count(*) as count from webhook_endpoints where app_id = $1',
      [appId],
    );
    if (Number(counted?.count ?? 0) >= MAX_ENDPOINTS_PER_APP) {
      throw new TollgateError('invalid_request', `An app has at most ${MAX_ENDPOINTS_PER_APP} endpoints`);
    }
    const now = this.clock.now().toISOString();
    const [row] = await this.db.query<EndpointRow>(
      `insert into webhook_endpoints (id, app_id, url, description, event_types, enabled, secret, created_at, updated_at)
       values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $8) returning *`,
      [
        newId('we'),
        appId,
        input.url,
        input.description ?? null,
        JSON.stringify(unique(input.eventTypes)),
        input.enabled ?? true,
        newSigningSecret(),
        now,
      ],
    );
    return row!;
  }

  async listEndpoints(appId: string | null): Promise<EndpointRow[]> {
    return this.db.query<EndpointRow>(
      `select * from webhook_endpoints where ($1::text is null or app_id = $1) order by created_at, id`,
      [appId],
    );
  }

  async endpoint(scope: Scope, id: string): Promise<EndpointRow> {
    const [row] = await this.db.query<EndpointRow>(
      'select * from webhook_endpoints where id = $1 and ($2::text is null or app_id = $2)',
      [id, scope.appId],
    );
    if (!row) throw new TollgateError('not_found', `No such webhook endpoint: ${id}`);
    return row;
  }

  async updateEndpoint(scope: Scope, id: string, changes: Partial<EndpointInput>): Promise<EndpointRow> {
    const current = await this.endpoint(scope, id);
    if (changes.url !== undefined) this.checkUrl(changes.url);
    const [row] = await this.db.query<EndpointRow>(
      `update webhook_endpoints set url = $2, description = $3, event_types = $4::jsonb, enabled = $5, updated_at = $6
       where id = $1 returning *`,
      [
        id,
        changes.url ?? current.url,
        changes.description === undefined ? current.description : changes.description,
        JSON.stringify(changes.eventTypes ? unique(changes.eventTypes) : current.event_types),
        changes.enabled ?? current.enabled,
        this.clock.now().toISOString(),
      ],
    );
    return row!;
  }

  /** Deletes an endpoint; what was still owed to it is dead-lettered (its history stays). */
  async deleteEndpoint(scope: Scope, id: string): Promise<void> {
    await this.endpoint(scope, id);
    await this.db.transaction(async (query) => {
      await query(
        `update webhook_deliveries set status = 'dead', last_error = 'endpoint deleted', completed_at = $2
         where endpoint_id = $1 and status = 'pending'`,
        [id, this.clock.now().toISOString()],
      );
      await query('delete from webhook_endpoints where id = $1', [id]);
    });
  }

  /**
   * A new secret signs from now on; the old one keeps signing too (a second `v1`) until
   * `previousValidSeconds` have passed, so receivers can switch without dropping events.
   */
  async rotateSecret(scope: Scope, id: string, previousValidSeconds: number): Promise<EndpointRow> {
    const current = await this.endpoint(scope, id);
    const now = this.clock.now();
    const [row] = await this.db.query<EndpointRow>(
      `update webhook_endpoints set secret = $2, previous_secret = $3, previous_secret_expires_at = $4, updated_at = $5
       where id = $1 returning *`,
      [
        id,
        newSigningSecret(),
        previousValidSeconds > 0 ? current.secret : null,
        previousValidSeconds > 0 ? new Date(now.getTime() + previousValidSeconds * 1000).toISOString() : null,
        now.toISOString(),
      ],
    );
    return row!;
  }

  async listEvents(
    scope: Scope,
    filter: { type?: string; customerId?: string; limit: number; before?: string },
  ): Promise<{ data: EventRow[]; hasMore: boolean }> {
    const rows = await this.db.query<EventRow>(
      `select id, app_id, customer_id, type, data, created_at from app_events
       where ($1::text is null or app_id = $1) and ($2::text is null or type = $2)
         and ($3::text is null or customer_id = $3)
         and ($4::text is null or seq < (select seq from app_events where id = $4 limit 1))
       order by seq desc limit $5`,
      [scope.appId, filter.type ?? null, filter.customerId ?? null, filter.before ?? null, filter.limit + 1],
    );
    return { data: rows.slice(0, filter.limit), hasMore: rows.length > filter.limit };
  }

  async event(scope: Scope, id: string): Promise<EventRow> {
    const [row] = await this.db.query<EventRow>(
      `select id, app_id, customer_id, type, data, created_at from app_events
       where id = $1 and ($2::text is null or app_id = $2)`,
      [id, scope.appId],
    );
    if (!row) throw new TollgateError('not_found', `No such event: ${id}`);
    return row;
  }

  async listDeliveries(
    scope: Scope,
    filter: { eventId?: string; endpointId?: string; status?: string; limit: number },
  ): Promise<{ data: (DeliveryRow & { attempts_made: AttemptRow[] })[]; hasMore: boolean }> {
    const rows = await this.db.query<DeliveryRow>(
      `select * from webhook_deliveries
       where ($1::text is null or app_id = $1) and ($2::text is null or event_id = $2)
         and ($3::text is null or endpoint_id = $3) and ($4::text is null or status = $4)
       order by seq desc limit $5`,
      [
        scope.appId,
        filter.eventId ?? null,
        filter.endpointId ?? null,
        filter.status ?? null,
        filter.limit + 1,
      ],
    );
    const page = rows.slice(0, filter.limit);
    return { data: await this.withAttempts(page), hasMore: rows.length > filter.limit };
  }

  async delivery(scope: Scope, id: string): Promise<DeliveryRow & { attempts_made: AttemptRow[] }> {
    const [row] = await this.db.query<DeliveryRow>(
      'select * from webhook_deliveries where id = $1 and ($2::text is null or app_id = $2)',
      [id, scope.appId],
    );
    if (!row) throw new TollgateError('not_found', `No such delivery: ${id}`);
    return (await this.withAttempts([row]))[0]!;
  }

  private async withAttempts(rows: DeliveryRow[]) {
    if (rows.length === 0) return [];
    const attempts = await this.db.query<AttemptRow>(
      `select delivery_id, attempt, started_at, latency_ms, status_code, error from webhook_attempts
       where delivery_id = any($1::text[]) order by delivery_id, attempt`,
      [rows.map((row) => row.id)],
    );
    return rows.map((row) => ({
      ...row,
      attempts_made: attempts.filter((attempt) => attempt.delivery_id === row.id),
    }));
  }

  /**
   * Sends an event again: a new delivery (same event id, so a receiver's de-duplication still sees one
   * event) to one endpoint, or to every enabled endpoint of the app that wants its type.
   */
  async replayEvent(scope: Scope, eventId: string, endpointId?: string): Promise<DeliveryRow[]> {
    const event = await this.event(scope, eventId);
    if (endpointId !== undefined) await this.endpoint({ appId: event.app_id }, endpointId);
    const now = this.clock.now().toISOString();
    return this.db.query<DeliveryRow>(
      `insert into webhook_deliveries (customer_id, id, event_id, app_id, endpoint_id, channel, status, next_attempt_at, created_at)
       select $1, 'whd_' || replace(gen_random_uuid()::text, '-', ''), $2, $3, w.id, 'webhook', 'pending', $5, $5
       from webhook_endpoints w
       where w.app_id = $3 and (case when $4::text is null then w.enabled and (w.event_types ? $6 or w.event_types ? '*')
                                     else w.id = $4 end)
       returning *`,
      [event.customer_id, event.id, event.app_id, endpointId ?? null, now, event.type],
    );
  }

  /** Sends one delivery again as a new delivery to the same endpoint (the old one keeps its history). */
  async replayDelivery(scope: Scope, deliveryId: string): Promise<DeliveryRow> {
    const delivery = await this.delivery(scope, deliveryId);
    if (delivery.channel !== 'webhook' || delivery.endpoint_id === null) {
      throw new TollgateError('invalid_state', 'Only webhook deliveries can be replayed');
    }
    const [row] = await this.replayEvent({ appId: delivery.app_id }, delivery.event_id, delivery.endpoint_id);
    return row!;
  }

  // ---------------------------------------------------------------------------- low-balance alerts

  async appThreshold(appId: string): Promise<bigint | null> {
    const [row] = await this.db.query<{ low_balance_threshold_micros: bigint | null }>(
      'select low_balance_threshold_micros from apps where id = $1',
      [appId],
    );
    if (!row) throw new TollgateError('not_found', `No such app: ${appId}`);
    return row.low_balance_threshold_micros === null ? null : BigInt(row.low_balance_threshold_micros);
  }

  /**
   * The app's default threshold. The ledger caches each customer's threshold with its account and
   * trusts a cached account while its revision is current, so the change bumps the revision of every
   * customer of the app in the same transaction (a one-off cost of a settings change).
   */
  async setAppThreshold(appId: string, thresholdMicros: bigint | null): Promise<void> {
    await this.appThreshold(appId);
    await this.db.transaction(async (query) => {
      await query('update apps set low_balance_threshold_micros = $2 where id = $1', [
        appId,
        thresholdMicros?.toString() ?? null,
      ]);
      await query('update customers set revision = revision + 1 where app_id = $1', [appId]);
    });
  }

  async customerAlert(customerId: string): Promise<{
    overrideMicros: bigint | null;
    effectiveMicros: bigint | null;
    level: number;
  }> {
    const [row] = await this.db.query<{
      override: bigint | null;
      effective: bigint | null;
      balance_alert: number;
    }>(
      `select c.low_balance_threshold_micros as override,
              coalesce(c.low_balance_threshold_micros, a.low_balance_threshold_micros) as effective, c.balance_alert
       from customers c left join apps a on a.id = c.app_id where c.id = $1`,
      [customerId],
    );
    if (!row) throw new TollgateError('not_found', `No such customer: ${customerId}`);
    return {
      overrideMicros: row.override === null ? null : BigInt(row.override),
      effectiveMicros: row.effective === null ? this.defaultLowBalanceMicros : BigInt(row.effective),
      level: Number(row.balance_alert),
    };
  }

  /** A customer's own threshold (null: the app's). Bumps its revision, as `setAppThreshold` does. */
  async setCustomerThreshold(customerId: string, thresholdMicros: bigint | null): Promise<void> {
    await this.db.query(
      'update customers set low_balance_threshold_micros = $2, revision = revision + 1 where id = $1',
      [customerId, thresholdMicros?.toString() ?? null],
    );
  }
}

function unique(types: string[]): string[] {
  return types.includes(ALL_EVENTS) ? [ALL_EVENTS] : [...new Set(types)];
}
