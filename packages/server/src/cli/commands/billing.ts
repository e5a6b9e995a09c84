/**
 * `tollgate billing` (balance, where it came from, recent purchases) and `tollgate billing buy`
 * (a checkout session paid in the browser, then the new balance) — seed 001's `oanim billing`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { CheckoutSessionStatus, Tollgate } from '@tollgate/client';
import { openInBrowser } from '../browser.ts';
import { type Command, decimalFlag, integerFlag, stringFlag, UsageError } from '../command.ts';
import { creditNumber, credits, money, shortDate } from '../format.ts';

const RECENT_PURCHASES = 5;
const POLL_INTERVAL_MILLISECONDS = 1_000;
const DEFAULT_TIMEOUT_SECONDS = 900;

export const billing: Command = {
  path: ['billing'],
  group: 'user',
  summary: 'your balance, where it came from, and recent purchases',
  async run({ context }) {
    const client = context.userClient();
    const customerId = await context.customerId(client);
    const [customer, purchases] = await Promise.all([
      client.customers.retrieve(customerId),
      client.purchases.list(customerId),
    ]);
    const output = context.output;
    output.data({
      customer: customer.id,
      balance: customer.balance,
      pending: customer.pending,
      available: customer.available,
      breakdown: customer.breakdown ?? {},
      grants: customer.grants,
      subscription: customer.subscription,
      purchases: purchases.data,
    });

    const breakdown = Object.entries(customer.breakdown ?? {})
      .filter(([, amount]) => amount !== 0)
      .map(([source, amount]) => `${source} ${creditNumber(amount)}`)
      .join(' · ');
    output.fields([
      ['Balance', output.bold(credits(customer.balance))],
      [
        'Available',
        `${credits(customer.available)}${customer.pending ? output.dim(` (${creditNumber(customer.pending)} held)`) : ''}`,
      ],
      ...(breakdown ? ([['From', breakdown]] as Array<[string, string]>) : []),
      ...(customer.subscription
        ? ([['Plan', `${customer.subscription.plan} (${customer.subscription.status})`]] as Array<
            [string, string]
          >)
        : []),
    ]);
    output.line();
    if (purchases.data.length === 0) {
      output.line(output.dim('No purchases yet. Buy credits with: tollgate billing buy --amount 25'));
      return 0;
    }
    output.line(output.bold('Recent purchases'));
    output.table(
      ['DATE', 'PAID', 'CREDITS', 'BONUS', 'STATUS'],
      purchases.data
        .slice(0, RECENT_PURCHASES)
        .map((purchase) => [
          shortDate(purchase.created_at),
          money(purchase.amount, purchase.currency),
          creditNumber(purchase.credits),
          creditNumber(purchase.bonus_credits),
          purchase.status,
        ]),
      ['left', 'right', 'right', 'right', 'left'],
    );
    return 0;
  },
};

export const billingBuy: Command = {
  path: ['billing', 'buy'],
  group: 'user',
  summary: 'buy credits: opens the checkout, waits for the payment, prints the new balance',
  usage: '--amount AMOUNT [--currency CODE] | --pack CODE [--no-open] [--timeout SECONDS]',
  flags: [
    ['--amount AMOUNT', 'how much to pay, e.g. 25 (the server sets the minimum, $5 by default)'],
    ['--currency CODE', 'pay in another currency the server sells in, e.g. eur (default usd)'],
    ['--pack CODE', 'buy a credit pack from the billing catalog instead'],
    ['--no-open', 'print the checkout URL instead of opening the browser'],
    ['--timeout SECONDS', `how long to wait for the payment (default ${DEFAULT_TIMEOUT_SECONDS})`],
  ],
  options: {
    amount: { type: 'string' },
    currency: { type: 'string' },
    pack: { type: 'string' },
    'no-open': { type: 'boolean' },
    timeout: { type: 'string' },
  },
  details: 'The browser is opened only when stdout is a terminal; otherwise the URL is printed.',
  async run({ values, context }) {
    const amount = decimalFlag(values, 'amount', billingBuy, { maxDecimals: 2, positive: true });
    const pack = stringFlag(values, 'pack')?.trim();
    if ((amount === undefined) === (pack === undefined || pack === '')) {
      throw new UsageError('give either --amount AMOUNT or --pack CODE', billingBuy);
    }
    const currency = stringFlag(values, 'currency')?.trim().toLowerCase() || undefined;
    const timeoutSeconds =
      integerFlag(values, 'timeout', billingBuy, { min: 1, max: 7 * 24 * 3600 }) ?? DEFAULT_TIMEOUT_SECONDS;
    const client = context.userClient();
    const output = context.output;
    const customer = await context.customerId(client);
    const session = await client.checkout.createSession(
      amount !== undefined ? { customer, amount, currency } : { customer, pack, currency },
    );

    if (session.purchase) {
      const bonus = session.purchase.bonus_credits
        ? ` (includes ${creditNumber(session.purchase.bonus_credits)} bonus)`
        : '';
      output.line(
        `${money(session.purchase.amount, session.purchase.currency)} buys ${output.bold(credits(session.purchase.credits))}${bonus}.`,
      );
    }
    const opened =
      values['no-open'] !== true && !output.json && output.interactive && openInBrowser(session.url);
    output.note(opened ? `Opened the checkout in your browser: ${session.url}` : `Pay here: ${session.url}`);

    const spinner = output.spinner('Waiting for the payment…');
    let outcome: CheckoutSessionStatus | 'timeout';
    try {
      outcome = await waitForCheckout(client, session.id, timeoutSeconds * 1000);
    } finally {
      spinner.stop();
    }

    if (outcome === 'timeout') {
      output.failure(`no payment after ${timeoutSeconds} s; the checkout stays open at ${session.url}`, {
        code: 'timeout',
        message: 'the payment did not complete in time',
        session: session.id,
        url: session.url,
      });
      return 1;
    }
    if (outcome.status !== 'completed') {
      output.failure(`the checkout ended as ${outcome.status}; nothing was charged`, {
        code: 'checkout_failed',
        message: `the checkout ended as ${outcome.status}`,
        session: session.id,
        status: outcome.status,
      });
      return 1;
    }
    const balance = await client.credits.balance();
    output.data({
      session: session.id,
      status: outcome.status,
      purchase: outcome.purchase,
      balance: balance.balance,
    });
    output.line(`${output.green('Payment received')}: +${credits(outcome.purchase.credits)}.`);
    output.line(`Balance: ${output.bold(credits(balance.balance))}`);
    return 0;
  },
};

/** Polls the session until it is no longer pending, or the time is up. */
async function waitForCheckout(
  client: Tollgate,
  sessionId: string,
  timeoutMilliseconds: number,
): Promise<CheckoutSessionStatus | 'timeout'> {
  const deadline = Date.now() + timeoutMilliseconds;
  for (;;) {
    const session = await client.checkout.retrieveSession(sessionId);
    if (session.status !== 'pending') return session;
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    await delay(Math.min(POLL_INTERVAL_MILLISECONDS, left));
  }
}
