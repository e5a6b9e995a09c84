/**
 * Bring-your-own provider keys: `keys set|list|remove`. With the user key they are the user's own;
 * an operator names the customer with --customer and uses TOLLGATE_API_KEY. The server checks a key
 * with the provider before storing it; a refusal is said plainly and nothing is stored.
 */
import { type Tollgate, TollgateError } from '@tollgate/client';
import { type Command, type CommandInput, stringFlag, UsageError } from '../command.ts';
import type { CliContext } from '../context.ts';
import { shortDate } from '../format.ts';

export const customerFlag: [string, string] = [
  '--customer C',
  "an operator acting for a customer (cus_… or the app's external id)",
];

export async function target(
  context: CliContext,
  customer: string | undefined,
): Promise<{ client: Tollgate; customer: string }> {
  if (customer) return { client: context.operatorClient(), customer };
  const client = context.userClient();
  return { client, customer: await context.customerId(client) };
}

export const keysSet: Command = {
  path: ['keys', 'set'],
  group: 'user',
  summary: 'store your own key for a provider (checked with the provider, then used instead of credits)',
  usage: 'PROVIDER [--key KEY] [--customer C]',
  positionals: ['provider'],
  flags: [
    ['--key KEY', 'the provider key; without it, read from stdin (keeps it out of shell history)'],
    customerFlag,
  ],
  options: { key: { type: 'string' }, customer: { type: 'string' } },
  details: 'Example: printf %s "$FAL_KEY" | tollgate keys set fal',
  async run({ values, positionals, context }: CommandInput) {
    const provider = positionals[0]!;
    let key = stringFlag(values, 'key');
    if (key === undefined) {
      if (context.io.stdin.isTTY) throw new UsageError('pass --key KEY or pipe the key on stdin', keysSet);
      key = await context.readStdin();
    }
    key = key.trim();
    if (key === '') throw new UsageError('the key is empty', keysSet);
    const { client, customer } = await target(context, stringFlag(values, 'customer'));
    const output = context.output;
    let stored: Awaited<ReturnType<Tollgate['providerKeys']['set']>>;
    try {
      stored = await client.providerKeys.set(customer, provider, { key });
    } catch (error) {
      if (!(error instanceof TollgateError)) throw error;
      const hint = refusalHint(error, provider);
      if (!hint) throw error;
      output.failure(hint, {
        code: error.code,
        message: error.message,
        status: error.status,
        ...error.details,
      });
      return 1;
    }
    output.data(stored);
    output.line(
      `${output.green('Stored')} ${stored.provider} key ${stored.masked_key}. Work on ${stored.provider} now uses it instead of credits.`,
    );
    return 0;
  },
};

/** What to tell a person whose key was not stored, for the refusals they can act on. */
function refusalHint(error: TollgateError, provider: string): string | null {
  switch (error.details.reason) {
    case 'provider_key_rejected':
      return `${provider} did not accept that key, so it was not stored. Copy the whole key from your ${provider} dashboard and try again. (${error.message})`;
    case 'provider_unreachable':
    case 'provider_not_configured':
      return `the key could not be checked with ${provider}, so it was not stored: ${error.message}`;
    case 'byok_not_allowed':
      return `${error.message}. Your own keys cannot be used with this app.`;
    default:
      return null;
  }
}

export const keysList: Command = {
  path: ['keys', 'list'],
  group: 'user',
  summary: 'list your stored provider keys (masked)',
  usage: '[--customer C]',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const { client, customer } = await target(context, stringFlag(values, 'customer'));
    const list = await client.providerKeys.list(customer);
    const output = context.output;
    output.data(list);
    if (list.data.length === 0) {
      output.line(output.dim('No provider keys stored. Add one with: tollgate keys set fal --key …'));
      return 0;
    }
    output.table(
      ['PROVIDER', 'KEY', 'UPDATED'],
      list.data.map((key) => [key.provider, key.masked_key, key.updated_at ? shortDate(key.updated_at) : '']),
    );
    return 0;
  },
};

export const keysRemove: Command = {
  path: ['keys', 'remove'],
  group: 'user',
  summary: 'delete a stored provider key (work is paid by credits again)',
  usage: 'PROVIDER [--customer C]',
  positionals: ['provider'],
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, positionals, context }) {
    const provider = positionals[0]!;
    const { client, customer } = await target(context, stringFlag(values, 'customer'));
    await client.providerKeys.remove(customer, provider);
    context.output.data({ provider, deleted: true });
    context.output.line(`Removed the ${provider} key.`);
    return 0;
  },
};
