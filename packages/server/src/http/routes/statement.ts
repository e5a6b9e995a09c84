/** Receipts for purchases: the customer's own, by purchase id (the statement's `receipt` field). */
import { z } from 'zod';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { StatementService } from '../../statement/statement-service.ts';
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
      async handler({ params, principal }) {
        const customer = await deps.customers.resolve(params.id, principal);
        return deps.statement.receipt(customer.id, params.receipt);
      },
    }),
  ];
}
