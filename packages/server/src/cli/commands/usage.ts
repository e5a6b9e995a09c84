/** `tollgate usage`: the user's recent charges (or, with --all, every ledger entry). */
import { type Command, integerFlag, stringFlag, UsageError } from '../command.ts';
import { creditNumber, shortDate, signedCredits } from '../format.ts';
import type { Terminal } from '../output.ts';

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
        entry.balance_after === undefined ? '' : creditNumber(entry.balance_after),
      ]),
      ['left', 'left', 'left', 'right', 'right'],
    );
    if (page.has_more) output.line(output.dim(`(older entries not shown; use --limit)`));
    return 0;
  },
};

const EXPORT_FORMATS = ['csv', 'json'];
const MODEL_TYPES = ['image', 'video', 'audio', 'language', 'operation'];

/** `tollgate usage export`: every usage row as CSV or JSON on stdout, streamed as the server sends it. */
export const usageExport: Command = {
  path: ['usage', 'export'],
  group: 'user',
  summary: 'export your usage (cost, tokens, model, key per call) as CSV or JSON on stdout',
  usage: '[--format csv|json] [--from DATE] [--to DATE] [--model ID] [--type TYPE] [--customer C]',
  flags: [
    ['--format F', 'csv (default) or json'],
    ['--from DATE', 'from this day (UTC) or instant, inclusive'],
    ['--to DATE', 'until this day or instant, exclusive'],
    ['--model ID', 'one model'],
    ['--type TYPE', MODEL_TYPES.join(', ')],
    ['--customer C', 'with TOLLGATE_API_KEY: one customer of the app (else all of them)'],
  ],
  options: {
    format: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    model: { type: 'string' },
    type: { type: 'string' },
    customer: { type: 'string' },
  },
  async run({ values, context }) {
    const format = stringFlag(values, 'format') ?? 'csv';
    if (!EXPORT_FORMATS.includes(format)) throw new UsageError('--format must be csv or json', usageExport);
    const type = stringFlag(values, 'type');
    if (type !== undefined && !MODEL_TYPES.includes(type)) {
      throw new UsageError(`--type must be one of ${MODEL_TYPES.join(', ')}`, usageExport);
    }
    const customer = stringFlag(values, 'customer');
    const client = customer !== undefined ? context.operatorClient() : context.userClient();
    const body = await client.usage.export({
      format: format as 'csv' | 'json',
      from: stringFlag(values, 'from'),
      to: stringFlag(values, 'to'),
      model: stringFlag(values, 'model'),
      type: type as 'language' | undefined,
      customer,
    });
    const stdout = context.io.stdout as Terminal & Partial<Pick<NodeJS.WritableStream, 'once'>>;
    const decoder = new TextDecoder();
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Waits for a slow stdout (a pipe) rather than holding the whole export in memory.
      if (stdout.write(decoder.decode(value, { stream: true })) === false && stdout.once) {
        await new Promise((resolve) => stdout.once!('drain', resolve));
      }
    }
    stdout.write(decoder.decode());
    return 0;
  },
};
