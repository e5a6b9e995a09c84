/**
 * An organisation's members (operator key): `members add|list|remove`. Each member spends the
 * organisation's balance with its own user keys, under an optional limit of its own.
 */

import type { Command } from '../command.ts';
import { requireFlag, stringFlag } from '../command.ts';
import type { CliContext } from '../context.ts';
import { credits } from '../format.ts';
import { customerFlag, limitFlags, limitOf, limitText } from './user-keys.ts';

function client(context: CliContext) {
  return context.operatorClient();
}

export const membersAdd: Command = {
  path: ['members', 'add'],
  group: 'operator',
  summary: 'add a member to an organisation with its own user key (shown once) and an optional spend limit',
  usage: 'EXTERNAL_ID --customer C [--key-name NAME] [--limit CREDITS [--period day|week|month|total]]',
  positionals: ['external_id'],
  flags: [
    customerFlag,
    ['--key-name NAME', "the first key's name (default: the external id)"],
    ...limitFlags,
  ],
  options: {
    customer: { type: 'string' },
    'key-name': { type: 'string' },
    limit: { type: 'string' },
    period: { type: 'string' },
  },
  async run({ values, positionals, context }) {
    const customer = requireFlag(values, 'customer', membersAdd);
    const member = await client(context).members.create(customer, {
      external_id: positionals[0]!,
      key_name: stringFlag(values, 'key-name'),
      limit: limitOf(values, membersAdd),
    });
    const output = context.output;
    output.data(member);
    output.line(`${output.green('Added')} ${member.external_id} (${member.id}), ${limitText(member.limit)}.`);
    output.line(`Key (shown only now): ${member.user_key}`);
    return 0;
  },
};

export const membersList: Command = {
  path: ['members', 'list'],
  group: 'operator',
  summary: "list an organisation's members with their keys, limits and what they spent",
  usage: '--customer C',
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, context }) {
    const customer = requireFlag(values, 'customer', membersList);
    const list = await client(context).members.list(customer);
    const output = context.output;
    output.data(list);
    output.table(
      ['MEMBER', 'ID', 'KEYS', 'SPENT', 'SPEND LIMIT'],
      list.data.map((member) => [
        member.external_id,
        member.id,
        String(member.user_keys.length),
        credits(member.spent),
        limitText(member.limit),
      ]),
    );
    return 0;
  },
};

export const membersRemove: Command = {
  path: ['members', 'remove'],
  group: 'operator',
  summary: 'remove a member and revoke all of its user keys',
  usage: 'MEMBER --customer C',
  positionals: ['member'],
  flags: [customerFlag],
  options: { customer: { type: 'string' } },
  async run({ values, positionals, context }) {
    const customer = requireFlag(values, 'customer', membersRemove);
    const result = await client(context).members.remove(customer, positionals[0]!);
    context.output.data(result);
    context.output.line(`Removed ${result.id}; revoked ${result.revoked_keys} key(s).`);
    return 0;
  },
};
