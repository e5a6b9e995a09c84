/**
 * Entitlements: `entitlements` lists what a plan and bought packs unlock, `check FEATURE` asks whether
 * the customer may use it now, `track FEATURE` (operator) records use of a metered one.
 */
import { type Command, integerFlag, requireFlag, stringFlag } from '../command.ts';
import { customerFlag, target } from './keys.ts';

const quantityFlag: [string, string] = [
  '--quantity N',
  'a limit: the total the customer would reach; metered: how much more (default 1)',
];

export const entitlements: Command = {
  path: ['entitlements'],
  group: 'user',
  summary: 'what your plan and packs unlock: switches, limits, metered allowances left',
  usage: '[--customer C]',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const { client, customer } = await target(context, stringFlag(values, 'customer'));
    const view = await client.entitlements.retrieve(customer);
    const output = context.output;
    output.data(view);
    output.line(
      `Plan: ${view.plan ?? 'none'}${view.period_end ? ` (renews ${view.period_end.slice(0, 10)})` : ''}`,
    );
    output.table(
      ['FEATURE', 'KIND', 'ACCESS', 'FROM'],
      view.features.map((entry) => [
        entry.feature,
        entry.kind,
        !entry.enabled
          ? 'no'
          : entry.kind === 'limit'
            ? `up to ${entry.limit}`
            : entry.kind === 'metered'
              ? `${entry.remaining} of ${entry.allowance} left`
              : 'yes',
        entry.sources.join(', '),
      ]),
      ['left', 'left', 'left', 'left'],
    );
    return 0;
  },
};

export const check: Command = {
  path: ['check'],
  group: 'user',
  summary: 'may you use a feature now? (allowed, remaining, reason)',
  usage: 'FEATURE [--quantity N] [--customer C]',
  positionals: ['feature'],
  flags: [quantityFlag, customerFlag],
  options: { quantity: { type: 'string' }, customer: { type: 'string' } },
  async run({ values, positionals, context }) {
    const { client, customer } = await target(context, stringFlag(values, 'customer'));
    const quantity = integerFlag(values, 'quantity', check, { min: 1, max: Number.MAX_SAFE_INTEGER });
    const result = await client.entitlements.check({ customer, feature: positionals[0]!, quantity });
    const output = context.output;
    output.data(result);
    output.line(
      `${result.allowed ? output.green('allowed') : output.red(`not allowed (${result.reason})`)}` +
        (result.remaining === null ? '' : ` · remaining ${result.remaining}`),
    );
    return result.allowed ? 0 : 1;
  },
};

export const track: Command = {
  path: ['track'],
  group: 'operator',
  summary: "record use of a metered feature against the customer's allowance",
  usage: 'FEATURE --customer C [--quantity N] [--idempotency-key K]',
  positionals: ['feature'],
  flags: [quantityFlag, customerFlag, ['--idempotency-key K', 'makes a rerun of the same track a no-op']],
  options: {
    quantity: { type: 'string' },
    customer: { type: 'string' },
    'idempotency-key': { type: 'string' },
  },
  async run({ values, positionals, context }) {
    const customer = requireFlag(values, 'customer', track);
    const quantity = integerFlag(values, 'quantity', track, { min: 1, max: Number.MAX_SAFE_INTEGER });
    const result = await context
      .operatorClient()
      .entitlements.track(
        { customer, feature: positionals[0]!, quantity },
        { idempotencyKey: stringFlag(values, 'idempotency-key') },
      );
    const output = context.output;
    output.data(result);
    output.line(
      `Tracked ${result.quantity} ${result.feature}: ${result.used} of ${result.allowance} used this period.`,
    );
    return 0;
  },
};
