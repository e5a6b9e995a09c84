/**
 * Media generation jobs over a fal-style queue (submit → status → result). The price of a job comes
 * from its own input, read as the catalog defines it (`pricing/work-inputs.ts`): the seconds of a
 * video, the number of images. That validated input — defaults written in — is what is submitted, so
 * what is held is the price of exactly what the provider is asked to do. When the job completes it is
 * captured at the price of what the provider reports it delivered (images returned, seconds of the
 * clip), never above the hold; a failed job (error, content filter, timeout) is voided — failed
 * generations are free (seed 003). A background worker settles jobs nobody polls, and keeps their
 * holds alive while they run, so work that started finishes and is billed even if the customer's
 * credits run out meanwhile (seed 000: durable work).
 */
import { type AppsService, referralAccountId } from '../apps/apps-service.ts';
import type { ProviderKeysService } from '../byok/provider-keys.ts';
import type { TollgateConfig } from '../config/types.ts';
import type { Upstreams } from '../gateway/upstreams.ts';
import type { Metrics } from '../http/metrics.ts';
import { type Ledger, unwrap } from '../ledger/ledger.ts';
import type { Catalog, CatalogModel } from '../pricing/catalog.ts';
import {
  capAtHold,
  deliveredWork,
  formatMicroUnits,
  measureWork,
  quoteWork,
  reportedWork,
  type WorkAmount,
} from '../pricing/work-inputs.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { decimalToScaled, microsToCredits } from '../shared/money.ts';
import { scrubSecrets } from '../shared/scrub-secrets.ts';
import type { Database } from '../store/database.ts';
import { spenderMetadata } from '../teams/spender.ts';

interface GenerationRow {
  id: string;
  customer_id: string;
  app_id: string | null;
  model: string;
  provider: string;
  hold_id: string;
  funding: 'credits' | 'byok';
  status: 'queued' | 'in_progress' | 'completed' | 'failed';
  upstream_request_id: string | null;
  status_url: string | null;
  response_url: string | null;
  result: unknown;
  error: string | null;
  cost_micros: bigint | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

export interface GenerationsOptions {
  /** How long a job may run before it is failed (and voided). */
  jobTimeoutSeconds: number;
  /** Hold lifetime, renewed on every poll while the job runs. */
  holdTimeoutSeconds: number;
}

export class GenerationsService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly catalog: Catalog,
    private readonly config: TollgateConfig,
    private readonly apps: AppsService,
    private readonly providerKeys: ProviderKeysService,
    private readonly upstreams: Upstreams,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly env: Record<string, string | undefined>,
    private readonly options: GenerationsOptions,
  ) {}

  async create(input: {
    customerId: string;
    appId: string | null;
    /** The user key the job is submitted with: its spend limit applies. */
    userKeyId?: string;
    /** The organisation member the key belongs to: the member's limit applies too. */
    memberId?: string;
    model: string;
    input: Record<string, unknown>;
    quantity?: unknown;
  }) {
    if (input.quantity !== undefined) {
      // A separate number the client states is one it can shrink: the job's own input is what is priced.
      throw new TollgateError(
        'invalid_request',
        'quantity is not accepted on generations: the price comes from the input (its duration, num_images, …) as the catalog defines it',
        { param: 'quantity' },
      );
    }
    const app = input.appId ? await this.apps.get(input.appId) : null;
    const model = this.catalog.require(input.model);
    if (app) this.apps.assertModelAllowed(app, model.id);
    const provider = this.config.providers[model.provider];
    if (!provider || provider.format !== 'fal') {
      throw new TollgateError(
        'invalid_request',
        `${model.id} is not a media model: use /v1/chat/completions or /v1/messages`,
        { param: 'model' },
      );
    }
    // A malformed or out-of-bounds input is the client's error (400), whatever the state of the provider.
    const work = measureWork(model, input.input);
    const referralRatePpm = app?.referralRatePpm ?? 0n;
    const priced = quoteWork(model, work, referralRatePpm);
    const customerKey = await this.providerKeys.fundingKey(input.customerId, app, model.provider);
    const platformKey = this.env[provider.apiKeyEnv];
    const apiKey = customerKey ?? platformKey;
    if (!provider.configured || !apiKey)
      throw new TollgateError(
        'upstream_error',
        `The provider of ${model.id} is not configured on this server`,
      );
    const hold = unwrap(
      await this.ledger.hold({
        customerId: input.customerId,
        amountMicros: priced.totalMicros,
        model: model.id,
        modelType: model.type,
        provider: model.provider,
        funding: customerKey ? 'byok' : 'credits',
        userKeyId: input.userKeyId,
        memberId: input.memberId,
        timeoutSeconds: this.options.holdTimeoutSeconds,
        metadata: {
          ...spenderMetadata(input.userKeyId, input.memberId),
          provider_cost: priced.providerCostMicros.toString(),
          referral_share: priced.referralShareMicros.toString(),
          referral_rate_ppm: referralRatePpm.toString(),
          ...workMetadata(work),
        },
      }),
    );
    const id = newId('gen', 12);
    const now = this.clock.now();
    let submitted: { request_id?: string; status_url?: string; response_url?: string };
    try {
      const { pool, path } = this.upstreams.target(provider.baseUrl, `/${model.upstreamModel}`);
      const response = await pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: `Key ${apiKey}` },
        body: JSON.stringify(work.input),
      });
      const text = await response.body.text();
      if (response.statusCode >= 400)
        throw new Error(`provider answered ${response.statusCode}: ${text.slice(0, 300)}`);
      submitted = JSON.parse(text);
      if (!submitted.request_id) throw new Error('provider returned no request id');
    } catch (error) {
      await this.ledger.void({ holdId: hold.id, reason: 'upstream_error' });
      const reason = scrubSecrets((error as Error).message, [apiKey, platformKey]);
      throw new TollgateError('upstream_error', `The provider refused the job: ${reason}`);
    }
    await this.db.query(
      `insert into generations (id, customer_id, app_id, model, provider, hold_id, funding, status, upstream_request_id,
         status_url, response_url, input, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $11::jsonb, $12, $12)`,
      [
        id,
        input.customerId,
        input.appId,
        model.id,
        model.provider,
        hold.id,
        hold.funding,
        submitted.request_id,
        submitted.status_url ?? null,
        submitted.response_url ?? null,
        JSON.stringify(work.input),
        now.toISOString(),
      ],
    );
    return this.view((await this.row(id))!, priced.totalMicros);
  }

  private async row(id: string): Promise<GenerationRow | null> {
    const rows = await this.db.query<GenerationRow>('select * from generations where id = $1', [id]);
    return rows[0] ?? null;
  }

  /** The job, refreshed from the provider when it is still running. */
  async get(id: string, customerId: string) {
    let row = await this.row(id);
    if (!row || row.customer_id !== customerId)
      throw new TollgateError('not_found', `No such generation: ${id}`);
    if (row.status === 'queued' || row.status === 'in_progress') row = await this.refresh(row);
    return this.view(row);
  }

  private async refresh(row: GenerationRow): Promise<GenerationRow> {
    const provider = this.config.providers[row.provider];
    // The job lives in the account that submitted it: the customer's for a byok job, the platform's otherwise.
    const apiKey =
      row.funding === 'byok'
        ? await this.providerKeys.reveal(row.customer_id, row.provider)
        : provider
          ? this.env[provider.apiKeyEnv]
          : undefined;
    const now = this.clock.now();
    if (now.getTime() - new Date(row.created_at).getTime() > this.options.jobTimeoutSeconds * 1000) {
      return this.settle(row, 'failed', null, 'timeout');
    }
    if (!provider || !apiKey || !row.status_url) return row;
    try {
      const status = await this.fetchJson(row.status_url, apiKey);
      const state = String(status.status ?? '');
      if (state === 'COMPLETED') {
        const result = await this.fetchJson(
          row.response_url ?? row.status_url.replace(/\/status$/, ''),
          apiKey,
        );
        if (result.error || result.detail)
          return this.settle(row, 'failed', result, String(result.error ?? 'content_filtered'));
        return this.settle(row, 'completed', result, null);
      }
      if (state === 'FAILED' || state === 'ERROR' || state === 'CANCELLED') {
        return this.settle(row, 'failed', status, String(status.error ?? state.toLowerCase()));
      }
      // Still running: keep its hold alive so the finished work can be billed.
      await this.ledger.extend({ holdId: row.hold_id, timeoutSeconds: this.options.holdTimeoutSeconds });
      if (state === 'IN_PROGRESS' && row.status === 'queued') {
        await this.db.query(
          `update generations set status = 'in_progress', updated_at = $2 where id = $1 and status = 'queued'`,
          [row.id, now.toISOString()],
        );
        return { ...row, status: 'in_progress' };
      }
      await this.db.query('update generations set updated_at = $2 where id = $1', [
        row.id,
        now.toISOString(),
      ]);
      return row;
    } catch {
      // The provider could not be reached this time; the worker tries again.
      return row;
    }
  }

  private async fetchJson(url: string, apiKey: string): Promise<Record<string, any>> {
    const parsed = new URL(url);
    const { pool } = this.upstreams.target(parsed.origin, '');
    const response = await pool.request({
      method: 'GET',
      path: `${parsed.pathname}${parsed.search}`,
      headers: { authorization: `Key ${apiKey}` },
    });
    const text = await response.body.text();
    if (response.statusCode >= 500) throw new Error(`provider answered ${response.statusCode}`);
    return JSON.parse(text || '{}');
  }

  /**
   * Ends a job once: only the caller that moves it out of queued/in_progress touches the hold. A
   * completed job is charged the price of what the provider reports it delivered, at most the hold.
   */
  private async settle(
    row: GenerationRow,
    status: 'completed' | 'failed',
    result: unknown,
    error: string | null,
  ): Promise<GenerationRow> {
    const now = this.clock.now().toISOString();
    const keys = this.knownKeys(row);
    const shown = status === 'failed' && result !== null ? scrubbedJson(result, keys) : result;
    const claimed = await this.db.query<{ id: string }>(
      `update generations set status = $2, result = $3::jsonb, error = $4, updated_at = $5, completed_at = $5
       where id = $1 and status in ('queued', 'in_progress') returning id`,
      [
        row.id,
        status,
        shown === null ? null : JSON.stringify(shown),
        error === null ? null : scrubSecrets(error, keys).slice(0, 500),
        now,
      ],
    );
    if (claimed.length === 0) return (await this.row(row.id))!;
    if (status === 'completed') {
      const hold = await this.db.kysely
        .selectFrom('holds')
        .select(['amount_micros', 'metadata'])
        .where('id', '=', row.hold_id)
        .executeTakeFirstOrThrow();
      const charged = this.deliveredPrice(
        this.catalog.require(row.model),
        BigInt(hold.amount_micros),
        (hold.metadata ?? {}) as Record<string, string>,
        result,
      );
      const share = charged.referralShareMicros;
      const capture = unwrap(
        await this.ledger.capture({
          holdId: row.hold_id,
          amountMicros: charged.totalMicros,
          // The job finished and its result is the customer's: charged even if its hold timed out meanwhile.
          delivered: true,
          referralShareMicros: share > 0n ? share : undefined,
          referralAccount: share > 0n && row.app_id ? referralAccountId(row.app_id) : undefined,
          metadata: { generation_id: row.id, ...(charged.capped ? { reported_above_hold: 'true' } : {}) },
        }),
      );
      await this.db.query('update generations set cost_micros = $2 where id = $1', [
        row.id,
        capture.amountMicros.toString(),
      ]);
      this.metrics.captures.inc();
    } else {
      await this.ledger.void({ holdId: row.hold_id, reason: error ?? 'failed' });
      this.metrics.voids.inc({ reason: 'generation_failed' });
    }
    return (await this.row(row.id))!;
  }

  /**
   * The price of what the provider reports it delivered (what it does not report is taken as
   * submitted), at the referral rate of the hold, capped at the hold: a provider claiming a longer
   * clip than it was asked for cannot raise the charge.
   */
  private deliveredPrice(
    model: CatalogModel,
    heldMicros: bigint,
    metadata: Record<string, string>,
    result: unknown,
  ) {
    const held = {
      providerCostMicros: BigInt(metadata.provider_cost ?? heldMicros.toString()),
      referralShareMicros: BigInt(metadata.referral_share ?? '0'),
      totalMicros: heldMicros,
    };
    const submitted = readWorkMetadata(metadata);
    if (!submitted) return { ...held, capped: false };
    const delivered = deliveredWork(submitted, reportedWork(model, result));
    const charged = capAtHold(
      quoteWork(model, delivered.work, BigInt(metadata.referral_rate_ppm ?? '0')),
      held,
    );
    return { ...charged, capped: charged.capped || delivered.above };
  }

  /** Keys a provider's text about this job might echo: the platform's and, for a byok job, the customer's. */
  private knownKeys(row: GenerationRow): string[] {
    const provider = this.config.providers[row.provider];
    const platformKey = provider ? this.env[provider.apiKeyEnv] : undefined;
    return platformKey ? [platformKey] : [];
  }

  /** Settles jobs nobody polls. */
  async pollPending(limit = 50): Promise<number> {
    const rows = await this.db.query<GenerationRow>(
      `select * from generations where status in ('queued', 'in_progress') order by updated_at limit $1`,
      [limit],
    );
    await Promise.all(rows.map((row) => this.refresh(row)));
    return rows.length;
  }

  private view(row: GenerationRow, heldMicros?: bigint) {
    return {
      id: row.id,
      object: 'generation',
      model: row.model,
      status: row.status,
      funding: row.funding,
      hold_id: row.hold_id,
      ...(heldMicros !== undefined ? { held: microsToCredits(heldMicros) } : {}),
      cost: row.cost_micros === null ? null : microsToCredits(BigInt(row.cost_micros)),
      result: row.result ?? null,
      error: row.error,
      created_at: new Date(row.created_at).toISOString(),
      completed_at: row.completed_at ? new Date(row.completed_at).toISOString() : null,
    };
  }
}

/** The amount of work a hold was priced at, kept in its metadata for the capture (and the history). */
function workMetadata(work: WorkAmount): Record<string, string> {
  return {
    work_outputs: work.outputs.toString(),
    ...(work.unitsMicroUnits !== null ? { work_units: formatMicroUnits(work.unitsMicroUnits) } : {}),
  };
}

function readWorkMetadata(metadata: Record<string, string>): WorkAmount | null {
  if (metadata.work_outputs === undefined) return null;
  return {
    outputs: BigInt(metadata.work_outputs),
    unitsMicroUnits:
      metadata.work_units === undefined ? null : decimalToScaled(metadata.work_units, 6, 'work_units'),
  };
}

/** A provider's JSON with anything key-like cut out (the scrubber never breaks JSON: it stops at quotes). */
function scrubbedJson(value: unknown, keys: string[]): unknown {
  return JSON.parse(scrubSecrets(JSON.stringify(value), keys));
}
