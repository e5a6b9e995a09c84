/** Receipts for purchases: the customer's own, by purchase id (the statement's `receipt` field). */
import { z } from 'zod';
import type { CustomersService } from '../../customers/customers-service.ts';
import { receiptSchema, type StatementService } from '../../statement/statement-service.ts';
import { defineRoute } from '../route.ts';
import { identifier } from './schemas.ts';

export function statementRoutes(deps: { customers: CustomersService; statement: StatementService }) {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/receipts/:receipt',
      summary:
        "A purchase's receipt: amount paid and currency, credits (bonus included), refunds, the app; another customer's is 404",
      tag: 'Customers',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier, receipt: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/) }),
      response: {
        schema: receiptSchema,
        example: {
          id: 'pur_7Qm2',
          object: 'receipt',
          customer: 'cus_8f3k2m9x1q7z',
          app: { id: 'app_1', name: 'Acme Image Studio' },
          status: 'completed',
          amount_paid_cents: 1250,
          refunded_cents: 0,
          currency: 'usd',
          credits: 1250,
          bonus_credits: 0,
          pack: null,
          paid_at: '2026-01-01T00:00:00.000Z',
          created_at: '2026-01-01T00:00:00.000Z',
        },
      },
      async handler({ params, principal }) {
        const customer = await deps.customers.resolve(params.id, principal);
        return deps.statement.receipt(customer.id, params.receipt);
      },
    }),
  ];
}
