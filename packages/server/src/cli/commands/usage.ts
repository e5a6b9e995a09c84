/** `tollgate usage`: the user's recent charges (or, with --all, every ledger entry). */
import { type Command, integerFlag } from '../command.ts';
import { creditNumber, shortDate, signedCredits } from '../format.ts';

export const usage: Command = {
  path: ['usage'],
  group: 'user',
  summary: 'your recent charges, newest first',
  usage: '[--limit N] [--all]',
  flags: [
    ['--limit N', 'how many entries to read (default 20, at most 500)'],
    ['--all', 'show every ledger entry (purchases, grants, refunds), not only charges'],
  ],
  options: { limit: { type: 'string' }, all: { type: 'boolean' } },
  async run({ values, context }) {
    const limit = integerFlag(values, 'limit', usage, { min: 1, max: 500 }) ?? 20;
    const client = context.userClient();
    const page = await client.credits.history({ limit });
    const entries = values.all === true ? page.data : page.data.filter((entry) => entry.type === 'usage');
    const output = context.output;
    output.data({ data: entries, has_more: page.has_more });
    if (entries.length === 0) {
      output.line(output.dim(values.all === true ? 'No activity yet.' : 'No charges yet.'));
      return 0;
    }
    output.table(
      ['DATE', 'TYPE', 'MODEL', 'AMOUNT', 'BALANCE AFTER'],
      entries.map((entry) => [
        shortDate(entry.created_at),
        entry.type,
        entry.model ?? '',
        signedCredits(entry.amount),
        creditNumber(entry.balance_after),
      ]),
      ['left', 'left', 'left', 'right', 'right'],
    );
    if (page.has_more) output.line(output.dim(`(older entries not shown; use --limit)`));
    return 0;
  },
};
