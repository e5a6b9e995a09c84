/**
 * A customer's named user keys and spend limits (operator key: the app's secret key or the admin key):
 * `user-keys create|list|update|revoke` and `spend-limit show|set|remove`.
 */
import type { SpendLimit, SpendLimitPeriod } from '@tollgate/client';
import { type Command, decimalFlag, requireFlag, stringFlag, UsageError } from '../command.ts';
import type { CliContext } from '../context.ts';
import { credits, shortDate } from '../format.ts';

const PERIODS: SpendLimitPeriod[] = ['day', 'week', 'month', 'total'];
export const customerFlag: [string, string] = ['--customer C', "cus_… or the app's external id"];
export const limitFlags: [string, string][] = [
  ['--limit CREDITS', 'most the key may spend per period'],
  ['--period P', `${PERIODS.join(', ')} (UTC calendar periods; default month)`],
];

export function limitOf(values: Record<string, string | boolean | undefined>, command: Command) {
  const amount = decimalFlag(values, 'limit', command);
  const period = stringFlag(values, 'period') ?? 'month';
  if (!PERIODS.includes(period as SpendLimitPeriod)) {
    throw new UsageError(`--period must be one of ${PERIODS.join(', ')}`, command);
  }
  if (amount === undefined) {
    if (stringFlag(values, 'period') !== undefined) throw new UsageError('--period needs --limit', command);
    return undefined;
  }
  return { amount, period: period as SpendLimitPeriod };
}

/** `2.5 of 10 / day, resets 7 May` */
export function limitText(limit: SpendLimit | null): string {
  if (!limit) return 'no limit';
  const resets = limit.resets_at ? `, resets ${shortDate(limit.resets_at)}` : '';
  return `${credits(limit.spent)} of ${credits(limit.amount)} / ${limit.period}${resets}`;
}

function client(context: CliContext) {
  return context.operatorClient();
}

export const userKeysCreate: Command = {
  path: ['user-keys', 'create'],
  group: 'operator',
  summary: 'issue a named user key for a customer, optionally with a spend limit (the key is shown once)',
  usage: '--customer C [--name NAME] [--limit CREDITS [--period day|week|month|total]]',
  flags: [customerFlag, ['--name NAME', 'what the customer calls it (default "Default")'], ...limitFlags],
  options: {
    customer: { type: 'string' },
    name: { type: 'string' },
    limit: { type: 'string' },
    period: { type: 'string' },
  },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', userKeysCreate);
    const limit = limitOf(values, userKeysCreate);
    const key = await client(context).userKeys.create(customer, { name: stringFlag(values, 'name'), limit });
    const output = context.output;
    output.data(key);
    output.line(`${output.green('Created')} "${key.name}" (${key.id}), ${limitText(key.limit)}.`);
    output.line(`Key (shown only now): ${key.user_key}`);
    return 0;
  },
};

export const userKeysList: Command = {
  path: ['user-keys', 'list'],
  group: 'operator',
  summary: "list a customer's user keys with what each spent this period",
  usage: '--customer C',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', userKeysList);
    const list = await client(context).userKeys.list(customer);
    const output = context.output;
    output.data(list);
    output.table(
      ['NAME', 'ID', 'KEY', 'CREATED', 'LAST USED', 'SPEND LIMIT', 'STATE'],
      list.data.map((key) => [
        key.name,
        key.id,
        key.hint,
        shortDate(key.created_at),
        key.last_used_at ? shortDate(key.last_used_at) : 'never',
        limitText(key.limit),
        key.revoked_at ? 'revoked' : 'active',
      ]),
    );
    return 0;
  },
};

export const userKeysUpdate: Command = {
  path: ['user-keys', 'update'],
  group: 'operator',
  summary: 'rename a user key or change its spend limit (--no-limit removes it)',
  usage: 'KEY_ID --customer C [--name NAME] [--limit CREDITS [--period P] | --no-limit]',
  positionals: ['key_id'],
  flags: [customerFlag, ['--name NAME', 'a new name'], ...limitFlags, ['--no-limit', 'remove the limit']],
  options: {
    customer: { type: 'string' },
    name: { type: 'string' },
    limit: { type: 'string' },
    period: { type: 'string' },
    'no-limit': { type: 'boolean' },
  },
  async run({ values, positionals, context }) {
    const customer = requireFlag(values, 'customer', userKeysUpdate);
    const limit = limitOf(values, userKeysUpdate);
    if (limit && values['no-limit'])
      throw new UsageError('--limit and --no-limit contradict', userKeysUpdate);
    const name = stringFlag(values, 'name');
    if (!limit && !values['no-limit'] && name === undefined) {
      throw new UsageError('nothing to change: give --name, --limit or --no-limit', userKeysUpdate);
    }
    const key = await client(context).userKeys.update(customer, positionals[0]!, {
      name,
      limit: values['no-limit'] ? null : limit,
    });
    const output = context.output;
    output.data(key);
    output.line(`${output.green('Updated')} "${key.name}" (${key.id}), ${limitText(key.limit)}.`);
    return 0;
  },
};

export const userKeysRevoke: Command = {
  path: ['user-keys', 'revoke'],
  group: 'operator',
  summary: 'revoke a user key (refused from then on)',
  usage: 'KEY_ID --customer C',
  positionals: ['key_id'],
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, positionals, context }) {
    const customer = requireFlag(values, 'customer', userKeysRevoke);
    const result = await client(context).userKeys.revoke(customer, positionals[0]!);
    context.output.data(result);
    context.output.line(`Revoked ${result.id}.`);
    return 0;
  },
};

export const spendLimitShow: Command = {
  path: ['spend-limit', 'show'],
  group: 'operator',
  summary: "a customer's own spend limit and what it spent this period",
  usage: '--customer C',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', spendLimitShow);
    const result = await client(context).spendLimits.retrieve(customer);
    context.output.data(result);
    context.output.line(`${result.customer}: ${limitText(result.limit)}`);
    return 0;
  },
};

export const spendLimitSet: Command = {
  path: ['spend-limit', 'set'],
  group: 'operator',
  summary: "set a customer's spend limit over all its keys and the app's calls",
  usage: '--customer C --limit CREDITS [--period day|week|month|total]',
  flags: [customerFlag, ...limitFlags],
  options: { customer: { type: 'string' }, limit: { type: 'string' }, period: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', spendLimitSet);
    requireFlag(values, 'limit', spendLimitSet);
    const result = await client(context).spendLimits.set(customer, limitOf(values, spendLimitSet)!);
    context.output.data(result);
    context.output.line(`${context.output.green('Set')} ${result.customer}: ${limitText(result.limit)}`);
    return 0;
  },
};

export const spendLimitRemove: Command = {
  path: ['spend-limit', 'remove'],
  group: 'operator',
  summary: "remove a customer's spend limit",
  usage: '--customer C',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', spendLimitRemove);
    const result = await client(context).spendLimits.remove(customer);
    context.output.data(result);
    context.output.line(`Removed the spend limit of ${result.customer}.`);
    return 0;
  },
};
