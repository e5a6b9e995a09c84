/** `tollgate models`: the catalog with prices in credits (no key needed). */
import { type Command, stringFlag } from '../command.ts';
import { priceText } from '../format.ts';

export const models: Command = {
  path: ['models'],
  group: 'public',
  summary: 'the model catalog with prices in credits',
  usage: '[--type image|video|language|audio|…]',
  flags: [['--type TYPE', 'only models of this type']],
  options: { type: { type: 'string' } },
  async run({ values, context }) {
    const type = stringFlag(values, 'type');
    const list = await context.publicClient().models.list();
    const data = type ? list.data.filter((model) => model.type === type) : list.data;
    const output = context.output;
    output.data({ ...list, data });
    output.table(
      ['MODEL', 'TYPE', 'PRICE (credits)'],
      data.map((model) => [model.id, model.type, priceText(model.pricing)]),
    );
    if (!output.json) output.line(output.dim(`${data.length} model${data.length === 1 ? '' : 's'}`));
    return 0;
  },
};
