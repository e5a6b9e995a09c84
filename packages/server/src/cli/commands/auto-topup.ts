/**
 * Auto top-up (operator): `auto-topup show|set|remove --customer C`. Saving the card is the customer's
 * step (the setup page, `POST /v1/customers/{id}/auto-topup/setup`).
 */
import type { AutoTopup } from '@tollgate/client';
import { type Command, decimalFlag, requireFlag } from '../command.ts';
import { customerFlag } from './keys.ts';

function describe(view: AutoTopup): string {
  const state = view.enabled ? 'on' : `off (${view.disabled_reason ?? 'disabled'})`;
  const card = view.payment_method ? `card ${view.payment_method}` : 'no card saved yet';
  return (
    `${state}: below ${view.threshold} credits buy $${view.amount_usd}, at most $${view.monthly_cap_usd} a month ` +
    `($${view.spent_this_month_usd} this month) · ${card} · ${view.failures} failure(s)`
  );
}

export const autoTopupShow: Command = {
  path: ['auto-topup', 'show'],
  group: 'operator',
  summary: "a customer's auto top-up: threshold, amount, monthly cap, card, failures",
  usage: '--customer C',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', autoTopupShow);
    const view = await context.operatorClient().autoTopups.retrieve(customer);
    context.output.data(view);
    context.output.line(describe(view));
    return 0;
  },
};

export const autoTopupSet: Command = {
  path: ['auto-topup', 'set'],
  group: 'operator',
  summary: "set a customer's auto top-up (one payment each time the balance falls below the threshold)",
  usage: '--customer C --threshold CREDITS --amount-usd USD --monthly-cap-usd USD',
  flags: [
    customerFlag,
    ['--threshold CREDITS', 'a payment starts when the available balance falls below this'],
    ['--amount-usd USD', 'what each payment buys (at least the purchase minimum)'],
    ['--monthly-cap-usd USD', 'the most paid in a calendar month'],
  ],
  options: {
    customer: { type: 'string' },
    threshold: { type: 'string' },
    'amount-usd': { type: 'string' },
    'monthly-cap-usd': { type: 'string' },
  },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', autoTopupSet);
    for (const name of ['threshold', 'amount-usd', 'monthly-cap-usd'])
      requireFlag(values, name, autoTopupSet);
    const view = await context.operatorClient().autoTopups.set(customer, {
      threshold: decimalFlag(values, 'threshold', autoTopupSet, { positive: true })!,
      amount_usd: decimalFlag(values, 'amount-usd', autoTopupSet, { maxDecimals: 2, positive: true })!,
      monthly_cap_usd: decimalFlag(values, 'monthly-cap-usd', autoTopupSet, {
        maxDecimals: 2,
        positive: true,
      })!,
    });
    context.output.data(view);
    context.output.line(`${context.output.green('Set')} ${view.customer}: ${describe(view)}`);
    return 0;
  },
};

export const autoTopupRemove: Command = {
  path: ['auto-topup', 'remove'],
  group: 'operator',
  summary: "turn a customer's auto top-up off",
  usage: '--customer C',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', autoTopupRemove);
    const result = await context.operatorClient().autoTopups.delete(customer);
    context.output.data(result);
    context.output.line(`Removed the auto top-up of ${result.customer}.`);
    return 0;
  },
};
