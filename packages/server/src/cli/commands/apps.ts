/** `tollgate apps create` (admin key): an app with its publishable and secret keys. */
import { type Command, decimalFlag, requireFlag, stringFlag } from '../command.ts';

export const appsCreate: Command = {
  path: ['apps', 'create'],
  group: 'operator',
  summary: 'create an app (admin key); prints its keys once',
  usage: '--name NAME [--referral-rate 0.1] [--referral-rate-max 0.3] [--allowed-models ID,ID…]',
  flags: [
    ['--name NAME', "the app's name"],
    ['--referral-rate R', 'share of each charge paid to the app, e.g. 0.1 for 10 %'],
    ['--referral-rate-max R', 'the highest rate the app may set for itself (default: --referral-rate)'],
    ['--allowed-models IDS', 'comma-separated model ids its users may call (default: all)'],
  ],
  options: {
    name: { type: 'string' },
    'referral-rate': { type: 'string' },
    'referral-rate-max': { type: 'string' },
    'allowed-models': { type: 'string' },
  },
  async run({ values, context }) {
    const name = requireFlag(values, 'name', appsCreate);
    const rate = decimalFlag(values, 'referral-rate', appsCreate);
    const rateMax = decimalFlag(values, 'referral-rate-max', appsCreate);
    const allowed = stringFlag(values, 'allowed-models')
      ?.split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    const app = await context.operatorClient().apps.create({
      name,
      ...(rate !== undefined ? { referral_rate: Number(rate) } : {}),
      ...(rateMax !== undefined ? { referral_rate_max: Number(rateMax) } : {}),
      ...(allowed ? { allowed_models: allowed } : {}),
    });
    const output = context.output;
    output.data(app);
    output.fields([
      ['App', `${app.name} (${app.id})`],
      ['Publishable key', app.publishable_key],
      ['Secret key', `${output.bold(app.secret_key)}  ${output.yellow('shown only now')}`],
      ['Referral rate', `${app.referral_rate} (the app may set up to ${app.referral_rate_max})`],
    ]);
    return 0;
  },
};
