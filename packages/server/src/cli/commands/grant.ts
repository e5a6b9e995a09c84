/** `tollgate grant` (operator key): credit a customer (promotions, support, corrections). */
import { type Command, decimalFlag, requireFlag, stringFlag, UsageError } from '../command.ts';
import { credits } from '../format.ts';
import { parseDate } from './gift.ts';

const SOURCES = ['promo', 'gift', 'purchase', 'allowance', 'adjustment'];

export const grant: Command = {
  path: ['grant'],
  group: 'operator',
  summary: 'grant credits to a customer (a negative amount with --source adjustment takes them back)',
  usage:
    '--customer C --amount CREDITS [--source promo] [--reason TEXT] [--expires-at DATE] [--effective-at DATE] [--priority N] [--types T,…] [--models M,…] [--idempotency-key K]',
  flags: [
    ['--customer C', "cus_… or the app's external id"],
    ['--amount CREDITS', 'credits to grant'],
    ['--source S', `${SOURCES.join(', ')} (default promo; adjustment for a negative amount)`],
    ['--reason TEXT', 'shown in the customer history'],
    ['--expires-at DATE', 'when unspent credits of this grant expire'],
    ['--effective-at DATE', 'not spendable before then (credited by the sweep once due)'],
    ['--priority N', '0–100, lower spent first (default 50)'],
    ['--types T,…', 'pays only for these model types (chat, image, …)'],
    ['--models M,…', 'pays only for these model ids'],
    ['--idempotency-key K', 'makes a rerun of the same grant a no-op'],
  ],
  options: {
    customer: { type: 'string' },
    amount: { type: 'string' },
    source: { type: 'string' },
    reason: { type: 'string' },
    'expires-at': { type: 'string' },
    'effective-at': { type: 'string' },
    priority: { type: 'string' },
    types: { type: 'string' },
    models: { type: 'string' },
    'idempotency-key': { type: 'string' },
  },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', grant);
    requireFlag(values, 'amount', grant);
    const amount = decimalFlag(values, 'amount', grant, { signed: true })!;
    const source = stringFlag(values, 'source') ?? (amount.startsWith('-') ? 'adjustment' : 'promo');
    if (!SOURCES.includes(source))
      throw new UsageError(`--source must be one of ${SOURCES.join(', ')}`, grant);
    const priorityText = stringFlag(values, 'priority');
    const priority = priorityText === undefined ? undefined : Number(priorityText);
    if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 100))
      throw new UsageError('--priority must be a whole number from 0 to 100', grant);
    const list = (name: string) =>
      stringFlag(values, name)
        ?.split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    const types = list('types');
    const models = list('models');
    const result = await context.operatorClient().customers.grant(
      customer,
      {
        amount,
        source,
        reason: stringFlag(values, 'reason'),
        expires_at: parseDate(stringFlag(values, 'expires-at'), grant),
        effective_at: parseDate(stringFlag(values, 'effective-at'), grant),
        priority,
        scope: types || models ? { ...(types ? { types } : {}), ...(models ? { models } : {}) } : undefined,
      },
      { idempotencyKey: stringFlag(values, 'idempotency-key') },
    );
    const output = context.output;
    output.data(result);
    const balance = (result as { balance?: number }).balance;
    output.line(
      `${output.green(amount.startsWith('-') ? 'Debited' : 'Granted')} ${credits(amount.replace(/^-/, ''))} (${source}) to ${customer}.` +
        (balance !== undefined ? ` Balance: ${credits(balance)}` : ''),
    );
    return 0;
  },
};

export const grantVoid: Command = {
  path: ['grant', 'void'],
  group: 'operator',
  summary: "write off a grant's unspent remainder (credits open holds reserved stay with them)",
  usage: 'GRANT_ID [--reason TEXT] [--idempotency-key K]',
  positionals: ['grant'],
  flags: [
    ['--reason TEXT', 'why, kept with the write-off'],
    ['--idempotency-key K', 'makes a rerun of the same void a no-op'],
  ],
  options: { reason: { type: 'string' }, 'idempotency-key': { type: 'string' } },
  async run({ positionals, values, context }) {
    const grantId = positionals[0]!.trim();
    const reason = stringFlag(values, 'reason');
    const result = await context.operatorClient().customers.voidGrant(grantId, reason ? { reason } : {}, {
      idempotencyKey: stringFlag(values, 'idempotency-key'),
    });
    const output = context.output;
    output.data(result);
    output.line(
      `${output.green('Voided')} ${credits(result.voided)} of ${grantId}.` +
        (result.reserved > 0 ? ` ${credits(result.reserved)} stay reserved by open holds.` : '') +
        (result.balance !== null ? ` Balance: ${credits(result.balance)}` : ''),
    );
    return 0;
  },
};
