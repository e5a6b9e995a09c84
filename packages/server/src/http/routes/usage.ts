/** Usage you can take away: sums by day/model/key, a streamed CSV or JSON export, one call's cost and tokens. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../auth/principals.ts';
import { MODEL_TYPES } from '../../config/types.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import {
  summaryCsv,
  USAGE_GROUPS,
  type UsageFilters,
  type UsageGroup,
  type UsageScope,
  type UsageService,
  usageCallSchema,
  usageRecordSchema,
  usageSummarySchema,
} from '../../usage/usage-service.ts';
import { defineRoute } from '../route.ts';
import { identifier } from './schemas.ts';

/** A day (`2031-03-01`, UTC midnight) or an instant with its offset. */
const instant = z
  .union([z.string().datetime({ offset: true }), z.string().date()])
  .transform((text) => new Date(text));

const filters = z.object({
  from: instant.optional(),
  to: instant.optional(),
  model: z.string().min(1).max(200).optional(),
  type: z.enum(MODEL_TYPES).optional(),
  /** App and admin keys: one customer (`cus_…` or the app's external id) instead of all of theirs. */
  customer: identifier.optional(),
});

/** `day`, `day,model`: one or more of the groups, comma-separated, each at most once. */
const groupList = z
  .string()
  .max(100)
  .transform((text, context) => {
    const names = text.split(',').map((name) => name.trim());
    for (const name of names) {
      if (!(USAGE_GROUPS as readonly string[]).includes(name)) {
        context.addIssue({ code: 'custom', message: `group_by: each of ${USAGE_GROUPS.join(', ')}` });
        return z.NEVER;
      }
    }
    if (new Set(names).size !== names.length) {
      context.addIssue({ code: 'custom', message: 'group_by: a group appears twice' });
      return z.NEVER;
    }
    return names as UsageGroup[];
  });

export function usageRoutes(deps: { customers: CustomersService; usage: UsageService }) {
  const { customers, usage } = deps;
  /** A user sees their own usage; an app its customers' (or one of them); the admin everyone's. */
  const scopeOf = async (principal: Principal, customer: string | undefined): Promise<UsageScope> => {
    if (principal.kind === 'user') return { customerId: principal.customerId };
    if (customer !== undefined) return { customerId: (await customers.resolve(customer, principal)).id };
    return principal.kind === 'app' ? { appId: principal.appId } : { all: true };
  };
  const filtersOf = (query: z.infer<typeof filters>): UsageFilters => ({
    from: query.from,
    to: query.to,
    model: query.model,
    type: query.type,
  });
  /** Every matching row, written straight to the socket a page at a time. */
  const streamExport = async (
    scope: UsageScope,
    query: z.infer<typeof filters> & { format: 'csv' | 'json' },
    reply: FastifyReply,
    request: FastifyRequest,
  ) => {
    reply.hijack();
    try {
      await usage.export(scope, filtersOf(query), query.format, reply.raw);
    } catch (error) {
      // The status line is gone: cutting the connection is the only way to say the file is incomplete.
      request.log.error({ err: error }, 'usage export failed');
      reply.raw.destroy(error instanceof Error ? error : new Error(String(error)));
    }
    return reply;
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/usage',
      summary:
        'Usage summed by day (UTC), model, user key or customer: requests, credits, tokens; filters from/to, model, type',
      tag: 'Usage',
      auth: ['app', 'admin', 'user'],
      query: filters.extend({ group_by: groupList.default(['day']) }).strict(),
      response: {
        schema: usageSummarySchema,
        example: {
          object: 'list',
          group_by: ['day'],
          data: [
            {
              day: '2026-01-01',
              requests: 42,
              cost: 3.75,
              input_tokens: 120000,
              output_tokens: 8000,
              cached_input_tokens: 0,
            },
          ],
        },
      },
      async handler({ query, principal }) {
        const scope = await scopeOf(principal, query.customer);
        return {
          object: 'list',
          group_by: query.group_by,
          data: await usage.summary(scope, filtersOf(query), query.group_by),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/usage',
      summary:
        "One customer's usage: with group_by (day, model, key, customer; several comma-separated) the sums, else every usage row streamed; JSON or CSV",
      tag: 'Usage',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier }),
      query: filters
        .omit({ customer: true })
        .extend({ group_by: groupList.optional(), format: z.enum(['csv', 'json']).default('json') })
        .strict(),
      response: {
        description:
          'With group_by: the sums (format=csv: the same as CSV). Without: every usage row, streamed as a JSON array (format=csv: CSV)',
        schema: z.union([usageSummarySchema, z.array(usageRecordSchema)]),
        alternatives: [{ contentType: 'text/csv', description: 'format=csv: the sums, or every usage row' }],
      },
      async handler({ params, query, principal, reply, request }) {
        const scope = { customerId: (await customers.resolve(params.id, principal)).id };
        if (query.group_by === undefined) return streamExport(scope, query, reply, request);
        const data = await usage.summary(scope, filtersOf(query), query.group_by);
        if (query.format === 'json') return { object: 'list', group_by: query.group_by, data };
        reply.header('content-type', 'text/csv; charset=utf-8');
        reply.header('content-disposition', 'attachment; filename="usage.csv"');
        return summaryCsv(query.group_by, data);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/usage/export',
      summary:
        'Every usage row (cost, tokens, model, key, hold) as CSV or a JSON array, streamed in id order (constant memory for millions of rows)',
      tag: 'Usage',
      auth: ['app', 'admin', 'user'],
      query: filters.extend({ format: z.enum(['csv', 'json']).default('csv') }).strict(),
      response: {
        description: 'Every usage row, streamed: a JSON array (format=json) or CSV (format=csv, the default)',
        schema: z.array(usageRecordSchema),
        streamed: true,
        alternatives: [
          { contentType: 'text/csv', description: 'One line per usage row, with a header line' },
        ],
      },
      async handler({ query, principal, reply, request }) {
        return streamExport(await scopeOf(principal, query.customer), query, reply, request);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/calls/:id',
      summary:
        "One call's cost and tokens: a gateway call by its hold id (the x-tollgate-hold header), a generation by its id, a gate hold",
      tag: 'Usage',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier }),
      response: { schema: usageCallSchema },
      async handler({ params, principal }) {
        return usage.call(await scopeOf(principal, undefined), params.id);
      },
    }),
  ];
}
