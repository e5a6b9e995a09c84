/** Partner earnings: an app's referral earnings per month, the payouts the operator recorded, what is owed. */
import { z } from 'zod';
import type { PartnerEarnings } from '../../partners/partner-earnings.ts';
import { TollgateError } from '../../shared/errors.ts';
import { parsePositiveCredits } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, timestampSchema } from '../wire.ts';
import { creditAmount, identifier } from './schemas.ts';

const payoutSchema = z.object({
  id: z.string(),
  object: z.literal('payout'),
  app: z.string(),
  amount: creditsSchema,
  reference: z.string().nullable(),
  note: z.string().nullable(),
  created_at: timestampSchema,
});

const statementSchema = z.object({
  object: z.literal('partner_earnings'),
  app: z.string(),
  account: z.string().describe('The ledger account of the earnings: ref:<app>'),
  earned: creditsSchema,
  paid: creditsSchema,
  owed: creditsSchema,
  periods: z.array(
    z.object({ period: z.string().describe('YYYY-MM (UTC)'), earned: creditsSchema, paid: creditsSchema }),
  ),
  payouts: z.array(payoutSchema),
});

const statementExample = {
  object: 'partner_earnings',
  app: 'app_3kd9',
  account: 'ref:app_3kd9',
  earned: 120.5,
  paid: 100,
  owed: 20.5,
  periods: [{ period: '2026-01', earned: 120.5, paid: 100 }],
  payouts: [
    {
      id: 'pay_1',
      object: 'payout',
      app: 'app_3kd9',
      amount: 100,
      reference: 'INV-2026-001',
      note: null,
      created_at: '2026-01-31T00:00:00.000Z',
    },
  ],
};

export function partnerRoutes(earnings: PartnerEarnings) {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:id/earnings',
      summary:
        "An app's referral earnings per month (UTC), the payouts recorded, and what is owed (an app secret key reads its own)",
      tag: 'Apps',
      auth: ['admin', 'app'],
      params: z.object({ id: identifier }),
      response: { schema: statementSchema, example: statementExample },
      async handler({ params, principal }) {
        if (principal.kind === 'app' && principal.appId !== params.id) {
          throw new TollgateError('not_found', `No such app: ${params.id}`);
        }
        return earnings.statement(params.id);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/partner/statement',
      summary:
        "The partner's statement: referral earnings per month (UTC), payouts recorded, what is owed (an app key reads its own; the admin names ?app=)",
      tag: 'Partner',
      auth: ['admin', 'app'],
      query: z.object({ app: identifier.optional() }).strict(),
      response: { schema: statementSchema, example: statementExample },
      async handler({ query, principal }) {
        const appId = principal.kind === 'app' ? principal.appId : query.app;
        if (principal.kind === 'app' && query.app !== undefined && query.app !== principal.appId) {
          throw new TollgateError('not_found', `No such app: ${query.app}`);
        }
        if (appId === undefined) {
          throw new TollgateError('invalid_request', 'app is required with the admin key', { param: 'app' });
        }
        return earnings.statement(appId);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:id/payouts',
      summary:
        "Record a payout of an app's referral earnings (paid outside Tollgate): debits ref:<app>, never past what is owed",
      tag: 'Apps',
      auth: ['admin'],
      idempotent: 'replay',
      params: z.object({ id: identifier }),
      body: z
        .object({
          amount: creditAmount,
          /** The bank transfer or invoice it settles. */
          reference: z.string().min(1).max(200).optional(),
          note: z.string().max(500).optional(),
        })
        .strict(),
      response: { status: 201, schema: payoutSchema.extend({ owed_after: creditsSchema }) },
      async handler({ params, body, reply }) {
        const payout = await earnings.recordPayout(params.id, {
          amountMicros: parsePositiveCredits(body.amount),
          reference: body.reference,
          note: body.note,
        });
        reply.code(201);
        return payout;
      },
    }),
  ];
}
