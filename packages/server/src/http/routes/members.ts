/**
 * Team wallets (teams/): an organisation customer's members, each with their own user keys and an
 * optional spend limit, spending the organisation's balance. Managed like user keys: by the app's secret
 * key, the operator, or the organisation's dashboard session — never by a plain user key.
 */
import { z } from 'zod';
import type { CustomersService } from '../../customers/customers-service.ts';
import { microsToCredits } from '../../shared/money.ts';
import type { MembersService, MemberView } from '../../teams/members-service.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, fullListSchema, timestampSchema } from '../wire.ts';
import { customerParams, identifier } from './schemas.ts';
import {
  assertManages,
  keyName,
  limitBody,
  limitSetting,
  spendLimitSchema,
  spendLimitWire,
  userKeySchema,
  userKeyWire,
} from './user-keys.ts';

const memberParams = z.object({ id: identifier, member: identifier });

/** memberWire: a member of an organisation with its keys (masked), its limit and what it spent. */
const memberSchema = z.object({
  id: z.string(),
  object: z.literal('member'),
  customer: z.string().describe('The organisation'),
  external_id: z.string(),
  created_at: timestampSchema,
  limit: spendLimitSchema.describe("The member's limit over all of its keys; null: none"),
  spent: creditsSchema.describe("What the member's work cost, in total"),
  user_keys: z.array(userKeySchema).describe('Its user keys not revoked, newest first'),
});

const memberKeyExample = {
  id: 'uk_4mW8r2Kp9xQz',
  object: 'user_key',
  customer: 'cus_8f3k2m9x1q7z',
  name: 'Laptop',
  hint: 'tg_uk_…x9Qa',
  created_at: '2026-01-01T00:00:00.000Z',
  last_used_at: null,
  revoked_at: null,
  limit: null,
  member: 'mem_7tY3q9Lx2bNc',
};

const memberExample = {
  id: 'mem_7tY3q9Lx2bNc',
  object: 'member',
  customer: 'cus_8f3k2m9x1q7z',
  external_id: 'user_ada',
  created_at: '2026-01-01T00:00:00.000Z',
  limit: {
    amount: 50,
    period: 'month',
    spent: 12.25,
    remaining: 37.75,
    period_start: '2026-01-01T00:00:00.000Z',
    resets_at: '2026-02-01T00:00:00.000Z',
  },
  spent: 80.5,
  user_keys: [memberKeyExample],
};

export function memberWire(member: MemberView) {
  return {
    id: member.id,
    object: 'member',
    customer: member.customerId,
    external_id: member.externalId,
    created_at: member.createdAt.toISOString(),
    limit: spendLimitWire(member.limit),
    spent: microsToCredits(member.spentMicros),
    user_keys: member.keys.map(userKeyWire),
  };
}

export function memberRoutes(customers: CustomersService, members: MembersService) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/members',
      summary:
        "Add a member to an organisation: its own user key (shown once) and an optional limit, spending the organisation's balance",
      tag: 'Teams',
      auth: ['app', 'admin', 'user'],
      idempotent: 'replay',
      params: customerParams,
      body: z.object({
        external_id: z.string().trim().min(1).max(200),
        limit: limitBody.optional(),
        key_name: keyName.optional(),
      }),
      response: {
        status: 201,
        schema: memberSchema.extend({
          user_key: z.string().describe("tg_uk_…: the member's first user key, shown once"),
          user_key_id: z.string(),
        }),
        example: { ...memberExample, user_key: 'tg_uk_…', user_key_id: memberKeyExample.id },
      },
      async handler({ params, body, principal, reply }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const added = await members.add(customer, {
          externalId: body.external_id,
          limit: body.limit ? limitSetting(body.limit) : undefined,
          keyName: body.key_name,
        });
        reply.code(201);
        return { ...memberWire(added.member), user_key: added.userKey, user_key_id: added.userKeyId };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/members',
      summary: "An organisation's members with their keys (masked), limits and what they spent",
      tag: 'Teams',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: fullListSchema(memberSchema), example: { object: 'list', data: [memberExample] } },
      async handler({ params, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        return { object: 'list', data: (await members.list(customer)).map(memberWire) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/members/:member',
      summary: 'A member, by its id or the external id',
      tag: 'Teams',
      auth: ['app', 'admin', 'user'],
      params: memberParams,
      response: { schema: memberSchema, example: memberExample },
      async handler({ params, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        return memberWire(await members.get(customer, params.member));
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/customers/:id/members/:member',
      summary: "Set (null: remove) a member's spend limit over all of its keys",
      tag: 'Teams',
      auth: ['app', 'admin', 'user'],
      params: memberParams,
      body: z.object({ limit: limitBody.nullable() }),
      response: { schema: memberSchema, example: memberExample },
      async handler({ params, body, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const limit = body.limit === null ? null : limitSetting(body.limit);
        return memberWire(await members.updateLimit(customer, params.member, limit));
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/customers/:id/members/:member',
      summary: 'Remove a member and revoke all of its user keys (in one transaction)',
      tag: 'Teams',
      auth: ['app', 'admin', 'user'],
      params: memberParams,
      response: {
        schema: z.object({
          id: z.string(),
          object: z.literal('member'),
          removed: z.literal(true),
          revoked_keys: z.number().int().describe('How many user keys were revoked with it'),
        }),
      },
      async handler({ params, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const removed = await members.remove(customer, params.member);
        return { id: removed.id, object: 'member', removed: true, revoked_keys: removed.revokedKeys };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/members/:member/user-keys',
      summary: 'Issue another user key for a member (shown once), with a name and an optional key limit',
      tag: 'Teams',
      auth: ['app', 'admin', 'user'],
      idempotent: 'replay',
      params: memberParams,
      body: z.object({ name: keyName.optional(), limit: limitBody.optional() }).optional(),
      response: {
        status: 201,
        schema: userKeySchema.extend({ user_key: z.string().describe('tg_uk_…: shown once') }),
        example: { ...memberKeyExample, user_key: 'tg_uk_…' },
      },
      async handler({ params, body, principal, reply }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const { id, userKey } = await members.addKey(customer, params.member, {
          name: body?.name,
          limit: body?.limit ? limitSetting(body.limit) : undefined,
        });
        reply.code(201);
        return { ...userKeyWire(await customers.getUserKey(customer.id, id)), user_key: userKey };
      },
    }),
  ];
}
