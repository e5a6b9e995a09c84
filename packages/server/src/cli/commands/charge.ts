/**
 * `tollgate charge`: charge the user's own credits for one piece of work, within this CLI run's cap
 * (TOLLGATE_MAX_CREDITS_PER_RUN; the server refuses past it with run_limit_exceeded, exit 3).
 */
import { type Command, decimalFlag, requireFlag, stringFlag } from '../command.ts';
import { credits } from '../format.ts';

export const charge: Command = {
  path: ['charge'],
  group: 'user',
  summary: 'charge your credits for work on a model (counts toward the run cap)',
  usage: '--model MODEL [--quantity Q] [--amount CREDITS] [--idempotency-key K]',
  flags: [
    ['--model MODEL', 'the model id, e.g. fal-ai/flux/schnell'],
    ['--quantity Q', 'units of a per-unit price (seconds of video, images); default 1'],
    ['--amount CREDITS', 'charge this exact amount instead of the catalog price'],
    ['--idempotency-key K', 'makes a rerun of the same charge a no-op'],
  ],
  options: {
    model: { type: 'string' },
    quantity: { type: 'string' },
    amount: { type: 'string' },
    'idempotency-key': { type: 'string' },
  },
  details:
    'Environment: TOLLGATE_MAX_CREDITS_PER_RUN caps what one run may spend; TOLLGATE_RUN_ID groups\n' +
    'several invocations into one run (default: each process is its own run).',
  async run({ values, context }) {
    const model = requireFlag(values, 'model', charge);
    const quantity = decimalFlag(values, 'quantity', charge);
    const amount = decimalFlag(values, 'amount', charge);
    const limits = context.runLimits();
    const client = context.userClient();
    const customer = await context.customerId(client);
    const result = await client.charges.create(
      { customer, model, quantity, amount, ...limits },
      { idempotencyKey: stringFlag(values, 'idempotency-key') },
    );
    const balance = await client.credits.balance();
    const output = context.output;
    output.data({ ...result, run_id: limits.run_id, balance: balance.balance });
    output.line(
      `Charged ${output.bold(credits(result.amount))} for ${model}. Balance: ${credits(balance.balance)}`,
    );
    return 0;
  },
};
