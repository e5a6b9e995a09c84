/** Gift codes: `gift redeem CODE` (user key) and `gift create` (operator key). */
import { type Command, decimalFlag, integerFlag, requireFlag, stringFlag, UsageError } from '../command.ts';
import { credits } from '../format.ts';

export const giftRedeem: Command = {
  path: ['gift', 'redeem'],
  group: 'user',
  summary: 'redeem a gift code for credits',
  usage: 'CODE',
  positionals: ['code'],
  async run({ positionals, context }) {
    const code = positionals[0]!.trim();
    const redemption = await context.userClient().giftCodes.redeem({ code });
    const output = context.output;
    output.data(redemption);
    output.line(`${output.green('Redeemed')} ${credits(redemption.amount)}.`);
    if (redemption.balance !== undefined) output.line(`Balance: ${output.bold(credits(redemption.balance))}`);
    return 0;
  },
};

export const giftCreate: Command = {
  path: ['gift', 'create'],
  group: 'operator',
  summary: 'create gift codes (shown once)',
  usage: '--amount CREDITS [--count N] [--max-redemptions M] [--expires-at ISO-DATE]',
  flags: [
    ['--amount CREDITS', 'credits each code is worth'],
    ['--count N', 'how many codes (default 1, at most 1000)'],
    ['--max-redemptions M', 'how many times each code may be redeemed (default 1)'],
    ['--expires-at DATE', 'when the codes stop working, e.g. 2026-12-31 or 2026-12-31T23:59:59Z'],
  ],
  options: {
    amount: { type: 'string' },
    count: { type: 'string' },
    'max-redemptions': { type: 'string' },
    'expires-at': { type: 'string' },
  },
  async run({ values, context }) {
    requireFlag(values, 'amount', giftCreate);
    const amount = decimalFlag(values, 'amount', giftCreate, { positive: true })!;
    const count = integerFlag(values, 'count', giftCreate, { min: 1, max: 1000 });
    const maxRedemptions = integerFlag(values, 'max-redemptions', giftCreate, { min: 1, max: 1_000_000 });
    const expiresAt = parseDate(stringFlag(values, 'expires-at'), giftCreate);
    const batch = await context.operatorClient().giftCodes.create({
      amount,
      count,
      max_redemptions: maxRedemptions,
      expires_at: expiresAt,
    });
    const output = context.output;
    output.data(batch);
    output.line(
      `${batch.codes.length} code${batch.codes.length === 1 ? '' : 's'} worth ${credits(amount)} each (shown only now):`,
    );
    for (const code of batch.codes) output.line(`  ${output.bold(code)}`);
    return 0;
  },
};

/** A date flag as an ISO timestamp; a bare date means its start in UTC. */
export function parseDate(text: string | undefined, command: Command): string | undefined {
  if (text === undefined) return undefined;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00:00Z` : text.trim());
  if (Number.isNaN(date.getTime())) throw new UsageError(`--expires-at is not a date: "${text}"`, command);
  return date.toISOString();
}
