/** Operator-only routes: the ledger audit over HTTP (what `tollgate audit` prints, for a running server). */
import { z } from 'zod';
import { type AuditReport, auditLedger } from '../../ledger/audit.ts';
import { DEFAULT_AUDIT_GRACE_SECONDS } from '../../ledger/sweeper.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Database } from '../../store/database.ts';
import { defineRoute } from '../route.ts';

/** Micro-credit sums stay exact as decimal strings (they may pass 2^53). */
export function auditWire(report: AuditReport) {
  return {
    object: 'audit',
    ok: report.ok,
    checked_at: report.checkedAt,
    customers: report.customers,
    transactions: report.transactions,
    total_micros: report.totalMicros.toString(),
    system_accounts: Object.fromEntries(
      Object.entries(report.systemAccounts).map(([account, micros]) => [account, micros.toString()]),
    ),
    problems: report.problems.map((problem) => ({
      check: problem.check,
      count: problem.count,
      sample: JSON.parse(
        JSON.stringify(problem.sample, (_key, value) =>
          typeof value === 'bigint' ? value.toString() : value,
        ),
      ),
    })),
  };
}

export function adminRoutes(deps: { db: Database; clock: Clock }) {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/audit',
      summary:
        'Check the books: every transaction sums to zero, balances match their entries, no hold is stuck',
      tag: 'Admin',
      auth: ['admin'],
      query: z
        .object({
          grace_seconds: z.coerce
            .number()
            .int()
            .min(0)
            .max(31 * 24 * 3600)
            .optional(),
        })
        .strict(),
      response: {
        schema: z.object({
          object: z.literal('audit'),
          ok: z.boolean(),
          checked_at: z.string(),
          customers: z.number().int(),
          transactions: z.number().int(),
          total_micros: z.string().regex(/^-?\d+$/),
          system_accounts: z.record(z.string(), z.string().regex(/^-?\d+$/)),
          problems: z.array(
            z.object({ check: z.string(), count: z.number().int(), sample: z.array(z.unknown()) }),
          ),
        }),
        example: {
          object: 'audit',
          ok: true,
          checked_at: '2026-01-01T00:00:00.000Z',
          customers: 12,
          transactions: 340,
          total_micros: '0',
          system_accounts: { 'system:revenue': '-1500000000' },
          problems: [],
        },
      },
      async handler({ query }) {
        const report = await auditLedger(
          deps.db,
          deps.clock,
          query.grace_seconds ?? DEFAULT_AUDIT_GRACE_SECONDS,
        );
        return auditWire(report);
      },
    }),
  ];
}
