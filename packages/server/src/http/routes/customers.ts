import { z } from 'zod';
import type { ProviderKeysService } from '../../byok/provider-keys.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { GateService } from '../../gate/gate-service.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { TollgateError } from '../../shared/errors.ts';
import type { StatementService } from '../../statement/statement-service.ts';
import { STATEMENT_CSV_COLUMNS, statementLineSchema } from '../../statement/statement-service.ts';
import { defineRoute } from '../route.ts';
import {
  balanceSchema,
  balanceWire,
  customerExample,
  customerSchema,
  customerWire,
  listSchema,
  timestampSchema,
  transactionWire,
} from '../wire.ts';
import { customerParams, identifier, pagination } from './schemas.ts';

const PROVIDER_NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'provider must be a lowercase name like "fal"');

/** Keys are sent to the provider in a header: printable ASCII only, nothing a header could be split with. */
const PROVIDER_KEY = z
  .string()
  .trim()
  .min(8)
  .max(4096)
  .regex(/^[\x21-\x7E]+$/, 'key must be the key as the provider shows it: printable characters, no spaces');

export const providerKeySchema = z.object({
  provider: z.string(),
  masked_key: z.string(),
  created_at: timestampSchema,
  updated_at: timestampSchema,
});

export interface CustomerRouteDeps {
  customers: CustomersService;
  ledger: Ledger;
  gate: GateService;
  providerKeys: ProviderKeysService;
  subscriptionOf?: (customerId: string) => Promise<unknown>;
  /** Describes each line (`summary`), lists pending holds and streams the CSV statement. */
  statement?: StatementService;
}

export function customerRoutes(deps: CustomerRouteDeps) {
  const { customers, ledger, gate, providerKeys } = deps;
  const view = async (customerId: string) => {
    const customer = await customers.get(customerId);
    const balance = await ledger.balance(customerId);
    if (!balance) throw new TollgateError('not_found', `No such customer: ${customerId}`);
    return customerWire(
      customer,
      balance,
      deps.subscriptionOf ? await deps.subscriptionOf(customerId) : null,
    );
  };
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/customers',
      summary:
        'Create a customer (idempotent on external_id), individual or organization; a new customer gets the signup bonus and a user key',
      tag: 'Customers',
      auth: ['app', 'admin'],
      idempotent: 'replay',
      body: z.object({
        external_id: z.string().min(1).max(200),
        email: z.string().email().max(320).optional(),
        /** `organization`: members with their own keys spend its balance (`/v1/customers/{id}/members`). */
        type: z.enum(['individual', 'organization']).optional(),
      }),
      response: {
        status: 201,
        otherStatuses: [200],
        description: 'Created (201, with its user key, shown once) or already there (200)',
        schema: customerSchema.extend({ user_key: z.string().optional().describe('tg_uk_…: shown once') }),
        example: { ...customerExample, user_key: 'tg_uk_…' },
      },
      async handler({ body, principal, reply }) {
        const appId = principal.kind === 'app' ? principal.appId : null;
        const { customer, created, userKey } = await customers.create({
          appId,
          externalId: body.external_id,
          email: body.email ?? null,
          type: body.type,
        });
        reply.code(created ? 201 : 200);
        return { ...(await view(customer.id)), ...(userKey ? { user_key: userKey } : {}) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id',
      summary: 'A customer with balance breakdown (grants, pending, available)',
      tag: 'Customers',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: customerSchema, example: customerExample },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return view(customer.id);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/transactions',
      summary:
        'Transaction history (the statement), newest first, with balance_after and a summary in words per row; include_pending=true adds reserved holds first; format=csv streams every row',
      tag: 'Customers',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      query: pagination.extend({
        format: z.enum(['json', 'csv']).default('json'),
        include_pending: z.enum(['true', 'false']).default('false'),
      }),
      response: {
        schema: listSchema(statementLineSchema),
        alternatives: [
          {
            contentType: 'text/csv',
            description: `format=csv: every line, streamed (${STATEMENT_CSV_COLUMNS.join(', ')})`,
          },
        ],
      },
      async handler({ params, query, principal, reply, request }) {
        const customer = await customers.resolve(params.id, principal);
        const statement = deps.statement;
        if (query.format === 'csv' && statement) {
          reply.hijack();
          try {
            await statement.exportCsv(customer.id, transactionWire, reply.raw);
          } catch (error) {
            // The status line is gone: cutting the connection is the only way to say the file is incomplete.
            request.log.error({ err: error }, 'statement export failed');
            reply.raw.destroy(error instanceof Error ? error : new Error(String(error)));
          }
          return reply;
        }
        const page = await ledger.history({
          customerId: customer.id,
          limit: query.limit,
          offset: query.offset,
        });
        const rows = page.data.map(transactionWire);
        const data = statement ? await statement.describe(rows) : rows;
        const pending =
          statement && query.include_pending === 'true' && query.offset === 0
            ? await statement.pending(customer.id)
            : [];
        return { object: 'list', data: [...pending, ...data], has_more: page.hasMore };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/balance',
      summary: 'Balance breakdown only',
      tag: 'Customers',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: balanceSchema.extend({ customer: z.string() }) },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const balance = (await ledger.balance(customer.id))!;
        return { customer: customer.id, ...balanceWire(balance) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/customers/:id/provider-keys/:provider',
      // Checked with the provider first: refused → 400 (reason provider_key_rejected), unreachable → 502,
      // app with allow_byok false → 403; nothing is stored in any of those cases.
      summary:
        "Store the customer's own provider key (encrypted) once the provider accepts it; work on that provider then skips credits",
      tag: 'Bring your own keys',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier, provider: PROVIDER_NAME }),
      body: z.object({ key: PROVIDER_KEY }),
      response: { schema: providerKeySchema },
      async handler({ params, body, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return providerKeys.store(customer.id, await gate.appOf(customer), params.provider, body.key);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/provider-keys/:provider',
      summary: 'A stored provider key, masked',
      tag: 'Bring your own keys',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier, provider: PROVIDER_NAME }),
      response: { schema: providerKeySchema },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const key = await providerKeys.get(customer.id, params.provider);
        if (!key) throw new TollgateError('not_found', `No ${params.provider} key stored for this customer`);
        return key;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/provider-keys',
      summary: 'All stored provider keys, masked',
      tag: 'Bring your own keys',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: z.object({ data: z.array(providerKeySchema) }) },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return { data: await providerKeys.list(customer.id) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/customers/:id/provider-keys/:provider',
      summary: 'Remove a stored provider key',
      tag: 'Bring your own keys',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier, provider: PROVIDER_NAME }),
      response: { schema: z.object({ provider: z.string(), deleted: z.literal(true) }) },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const removed = await providerKeys.remove(customer.id, params.provider);
        if (!removed)
          throw new TollgateError('not_found', `No ${params.provider} key stored for this customer`);
        return { provider: params.provider, deleted: true };
      },
    }),
  ];
}
