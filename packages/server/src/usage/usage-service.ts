/**
 * Usage you can take away (OpenRouter's activity export): every charge for work — gateway calls,
 * holds captured through the gate, generations, one-shot charges — is a `usage` row of the ledger's
 * history, with the model, the tokens and (for gateway calls) the user key in its metadata. This
 * reads those rows: summed by day, model or key; exported row by row as CSV or JSON, streamed in
 * id order with a cursor so that millions of rows take constant memory; and one call by its hold id
 * (`x-tollgate-hold`) or generation id.
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ModelType } from '../config/types.ts';
import type { Catalog } from '../pricing/catalog.ts';
import { TollgateError } from '../shared/errors.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';

/** Whose usage: one customer, every customer of an app, or everyone (admin). */
export type UsageScope = { customerId: string } | { appId: string | null } | { all: true };

export interface UsageFilters {
  from?: Date;
  to?: Date;
  model?: string;
  type?: ModelType;
}

export const USAGE_GROUPS = ['day', 'model', 'key', 'customer', 'member'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

interface UsageRow {
  id: bigint;
  customer_id: string;
  model: string | null;
  amount_micros: bigint;
  hold_id: string | null;
  metadata: Record<string, unknown> | null;
  created_at: Date;
}

/** Rows read per query of an export: a cursor page, never the whole set. */
export const EXPORT_BATCH_ROWS = 1000;

const CSV_COLUMNS = [
  'id',
  'created_at',
  'customer',
  'model',
  'type',
  'endpoint',
  'key_id',
  'hold_id',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cost',
  'provider_cost',
  'referral_share',
  'member_id',
] as const;

export class UsageService {
  /** What exports have read and how many wait on a slow reader now (tests watch the streaming). */
  readonly exportStats = { rowsRead: 0, waitingForReader: 0 };

  constructor(
    private readonly db: Database,
    private readonly catalog: Catalog,
  ) {}

  /** The `where` clause and parameters shared by the summary and the export (rows of type `usage`). */
  private conditions(scope: UsageScope, filters: UsageFilters): { where: string; parameters: unknown[] } {
    const parameters: unknown[] = [];
    const add = (value: unknown) => {
      parameters.push(value);
      return `$${parameters.length}`;
    };
    const clauses = [`t.type = 'usage'`];
    if ('customerId' in scope) clauses.push(`t.customer_id = ${add(scope.customerId)}`);
    else if ('appId' in scope) {
      clauses.push(
        scope.appId === null
          ? 't.customer_id in (select id from customers where app_id is null)'
          : `t.customer_id in (select id from customers where app_id = ${add(scope.appId)})`,
      );
    }
    if (filters.from) clauses.push(`t.created_at >= ${add(filters.from.toISOString())}::timestamptz`);
    if (filters.to) clauses.push(`t.created_at < ${add(filters.to.toISOString())}::timestamptz`);
    if (filters.model) clauses.push(`t.model = ${add(filters.model)}`);
    if (filters.type) {
      const ids = this.catalog
        .list()
        .filter((model) => model.type === filters.type)
        .map((model) => model.id);
      // Gateway calls are language work even for a routed id the catalog does not list.
      clauses.push(
        filters.type === 'language'
          ? `(t.model = any(${add(ids)}::text[]) or t.metadata ? 'endpoint')`
          : `t.model = any(${add(ids)}::text[]) and not (coalesce(t.metadata, '{}'::jsonb) ? 'endpoint')`,
      );
    }
    return { where: clauses.join(' and '), parameters };
  }

  /**
   * Sums per day (UTC), model, user key, customer or organisation member — or per combination of them, in the order
   * given (`['day', 'model']`): requests, credits, tokens.
   */
  async summary(scope: UsageScope, filters: UsageFilters, groupBy: readonly UsageGroup[]) {
    const { where, parameters } = this.conditions(scope, filters);
    const expressions: Record<UsageGroup, string> = {
      day: `to_char(date_trunc('day', t.created_at at time zone 'UTC'), 'YYYY-MM-DD')`,
      model: `coalesce(t.model, '')`,
      key: `coalesce(t.metadata->>'user_key_id', '')`,
      customer: 't.customer_id',
      // The organisation member the hold was made for (teams/); null for an individual's rows.
      member: `coalesce(t.metadata->>'member_id', '')`,
    };
    const groups = groupBy.map((name, index) => `${expressions[name]} as group_${index}`).join(', ');
    const positions = groupBy.map((_, index) => index + 1).join(', ');
    const tokens = (field: string) => `coalesce(sum(case when jsonb_typeof(t.metadata->'${field}') = 'number'
      then (t.metadata->>'${field}')::numeric else 0 end), 0)::text`;
    const rows = await this.db.query<{
      [group: `group_${number}`]: string;
      requests: string;
      cost_micros: string;
      input_tokens: string;
      output_tokens: string;
      cached_input_tokens: string;
    }>(
      `select ${groups}, count(*)::text as requests, (-sum(t.amount_micros))::text as cost_micros,
              ${tokens('input_tokens')} as input_tokens, ${tokens('output_tokens')} as output_tokens,
              ${tokens('cached_input_tokens')} as cached_input_tokens
       from ledger_transactions t where ${where} group by ${positions} order by ${positions}`,
      parameters,
    );
    return rows.map((row) => ({
      ...Object.fromEntries(
        groupBy.map((name, index) => {
          const value = row[`group_${index}`];
          return [name, value === '' || value === undefined ? null : value];
        }),
      ),
      requests: Number(row.requests),
      cost: microsToCredits(BigInt(row.cost_micros)),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cached_input_tokens: Number(row.cached_input_tokens),
    }));
  }

  /** Pages of usage rows in id order, one query per page: the export's only read. */
  private async *pages(scope: UsageScope, filters: UsageFilters): AsyncGenerator<UsageRow[]> {
    const { where, parameters } = this.conditions(scope, filters);
    let cursor = 0n;
    for (;;) {
      const rows = await this.db.query<UsageRow>(
        `select t.id, t.customer_id, t.model, t.amount_micros, t.hold_id, t.metadata, t.created_at
         from ledger_transactions t where ${where} and t.id > $${parameters.length + 1}
         order by t.id limit ${EXPORT_BATCH_ROWS}`,
        [...parameters, cursor.toString()],
      );
      if (rows.length === 0) return;
      this.exportStats.rowsRead += rows.length;
      yield rows;
      if (rows.length < EXPORT_BATCH_ROWS) return;
      cursor = BigInt(rows.at(-1)!.id);
    }
  }

  private record(row: UsageRow) {
    const metadata = row.metadata ?? {};
    const number = (field: string) =>
      typeof metadata[field] === 'number' ? (metadata[field] as number) : null;
    const credits = (field: string) =>
      typeof metadata[field] === 'string' && /^-?\d+$/.test(metadata[field] as string)
        ? microsToCredits(BigInt(metadata[field] as string))
        : null;
    return {
      id: String(row.id),
      created_at: new Date(row.created_at).toISOString(),
      customer: row.customer_id,
      model: row.model,
      type: row.model
        ? (this.catalog.find(row.model)?.type ?? (metadata.endpoint ? 'language' : null))
        : null,
      endpoint: typeof metadata.endpoint === 'string' ? metadata.endpoint : null,
      // Every hold names the user key it was made for (gate, gateway, generations); its usage row inherits it.
      key_id: typeof metadata.user_key_id === 'string' ? metadata.user_key_id : null,
      hold_id: row.hold_id,
      input_tokens: number('input_tokens'),
      output_tokens: number('output_tokens'),
      cached_input_tokens: number('cached_input_tokens'),
      cost: microsToCredits(-BigInt(row.amount_micros)),
      provider_cost: credits('provider_cost'),
      referral_share: credits('referral_share'),
      // The organisation member the hold was made for (teams/), like key_id.
      member_id: typeof metadata.member_id === 'string' ? metadata.member_id : null,
    };
  }

  /**
   * Writes every matching row to `response` as CSV or a JSON array, a page at a time, waiting for
   * the reader to drain before reading the next page: memory stays at one page however many rows
   * there are. A reader that goes away stops the reading.
   */
  async export(scope: UsageScope, filters: UsageFilters, format: 'csv' | 'json', response: ServerResponse) {
    response.writeHead(200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="usage.${format}"`,
      'cache-control': 'no-store',
    });
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    const write = async (text: string) => {
      if (response.write(text) || closed) return;
      this.exportStats.waitingForReader += 1;
      try {
        await new Promise<void>((resolve) => {
          const done = () => {
            response.off('drain', done);
            response.off('close', done);
            resolve();
          };
          response.on('drain', done);
          response.on('close', done);
        });
      } finally {
        this.exportStats.waitingForReader -= 1;
      }
    };
    let first = true;
    await write(format === 'csv' ? `${CSV_COLUMNS.join(',')}\n` : '[');
    for await (const rows of this.pages(scope, filters)) {
      if (closed) return;
      let chunk = '';
      for (const row of rows) {
        const record = this.record(row);
        if (format === 'csv') chunk += `${CSV_COLUMNS.map((column) => csvField(record[column])).join(',')}\n`;
        else {
          chunk += `${first ? '' : ','}\n${JSON.stringify(record)}`;
          first = false;
        }
      }
      await write(chunk);
    }
    if (format === 'json') await write('\n]\n');
    response.end();
  }

  private async inScope(scope: UsageScope, customerId: string): Promise<boolean> {
    if ('customerId' in scope) return scope.customerId === customerId;
    if ('all' in scope) return true;
    const [customer] = await this.db.query<{ app_id: string | null }>(
      'select app_id from customers where id = $1',
      [customerId],
    );
    return customer !== undefined && customer.app_id === scope.appId;
  }

  /** One call's cost and tokens, by the hold id a gateway answer carries (`x-tollgate-hold`) or a generation id. */
  async call(scope: UsageScope, id: string) {
    const { where, parameters } = this.conditions(scope, {});
    const [hold] = await this.db.query<{
      id: string;
      status: string;
      funding: string;
      model: string | null;
      provider: string | null;
      amount_micros: bigint;
      created_at: Date;
      resolved_at: Date | null;
      customer_id: string;
    }>(
      `select h.id, h.status, h.funding, h.model, h.provider, h.amount_micros, h.created_at, h.resolved_at, h.customer_id
       from holds h where h.id = coalesce((select hold_id from generations where id = $1), $1)`,
      [id],
    );
    if (!hold) throw new TollgateError('not_found', `No call or generation ${id}`);
    const [usage] = await this.db.query<UsageRow>(
      `select t.id, t.customer_id, t.model, t.amount_micros, t.hold_id, t.metadata, t.created_at
       from ledger_transactions t where ${where} and t.hold_id = $${parameters.length + 1} limit 1`,
      [...parameters, hold.id],
    );
    if (!(await this.inScope(scope, hold.customer_id))) {
      throw new TollgateError('not_found', `No call or generation ${id}`);
    }
    const record = usage ? this.record(usage) : null;
    return {
      id,
      object: 'call',
      hold_id: hold.id,
      customer: hold.customer_id,
      status: hold.status,
      funding: hold.funding,
      model: record?.model ?? hold.model,
      provider: hold.provider,
      held: microsToCredits(BigInt(hold.amount_micros)),
      cost: record?.cost ?? 0,
      input_tokens: record?.input_tokens ?? null,
      output_tokens: record?.output_tokens ?? null,
      cached_input_tokens: record?.cached_input_tokens ?? null,
      endpoint: record?.endpoint ?? null,
      key_id: record?.key_id ?? null,
      provider_cost: record?.provider_cost ?? null,
      referral_share: record?.referral_share ?? null,
      created_at: new Date(hold.created_at).toISOString(),
      resolved_at: hold.resolved_at ? new Date(hold.resolved_at).toISOString() : null,
    };
  }
}

/**
 * A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. Text that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first: a model id or
 * metadata a client chose) gets a leading apostrophe; numbers are written as they are.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The summary as CSV: the group columns, then the sums. */
export function summaryCsv(
  groupBy: readonly UsageGroup[],
  rows: Record<string, string | number | null>[],
): string {
  const columns = [...groupBy, 'requests', 'cost', 'input_tokens', 'output_tokens', 'cached_input_tokens'];
  return `${[columns.join(','), ...rows.map((row) => columns.map((column) => csvField(row[column] ?? null)).join(','))].join('\n')}\n`;
}

/** One usage row of an export (`record`), as a schema for `/openapi.json`. */
export const usageRecordSchema = z.object({
  id: z.string(),
  created_at: z.string().datetime({ offset: true }),
  customer: z.string(),
  model: z.string().nullable(),
  type: z.string().nullable(),
  endpoint: z.string().nullable(),
  key_id: z.string().nullable(),
  hold_id: z.string().nullable(),
  input_tokens: z.number().nullable(),
  output_tokens: z.number().nullable(),
  cached_input_tokens: z.number().nullable(),
  cost: z.number(),
  provider_cost: z.number().nullable(),
  referral_share: z.number().nullable(),
});

/** `summary` rows: the group columns asked for (null where a row has none), then the sums. */
export const usageSummarySchema = z.object({
  object: z.literal('list'),
  group_by: z.array(z.enum(USAGE_GROUPS)),
  data: z.array(
    z
      .object({
        day: z.string().nullable().optional().describe('YYYY-MM-DD (UTC)'),
        model: z.string().nullable().optional(),
        key: z.string().nullable().optional(),
        customer: z.string().nullable().optional(),
        member: z.string().nullable().optional().describe('The organisation member (`mem_…`) who spent'),
        requests: z.number().int(),
        cost: z.number(),
        input_tokens: z.number(),
        output_tokens: z.number(),
        cached_input_tokens: z.number(),
      })
      .strict(),
  ),
});

/** `call`: one call's cost and tokens. */
export const usageCallSchema = z.object({
  id: z.string(),
  object: z.literal('call'),
  hold_id: z.string(),
  customer: z.string(),
  status: z.string(),
  funding: z.string(),
  model: z.string().nullable(),
  provider: z.string().nullable(),
  held: z.number(),
  cost: z.number(),
  input_tokens: z.number().nullable(),
  output_tokens: z.number().nullable(),
  cached_input_tokens: z.number().nullable(),
  endpoint: z.string().nullable(),
  key_id: z.string().nullable(),
  provider_cost: z.number().nullable(),
  referral_share: z.number().nullable(),
  created_at: z.string().datetime({ offset: true }),
  resolved_at: z.string().datetime({ offset: true }).nullable(),
});
