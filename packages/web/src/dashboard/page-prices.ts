/**
 * Prices (seed 002, "cost shown before clicking generate"): every model the app offers with its price
 * in credits and about how much that is in dollars, filterable by model type, and a cost preview for
 * a duration, a count or tokens. All figures come from `prices.ts`, the same estimate "Try a
 * generation" shows.
 */
import { errorMessage } from './api.ts';
import type { DashboardContext, PublicModel } from './context.ts';
import { h, humanize, mount, uid } from './dom.ts';
import {
  creditsWithUsd,
  estimateCredits,
  loadPrices,
  type PriceList,
  priceParts,
  quantityLabel,
} from './prices.ts';

export async function renderPricesPage(main: HTMLElement, context: DashboardContext): Promise<void> {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading prices…'));
  mount(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Prices'),
      h(
        'p',
        { class: 'muted' },
        'What each model costs in credits, and about how much that is in dollars. Work on your own API keys uses no credits.',
      ),
    ),
    body,
  );
  let prices: PriceList;
  try {
    prices = await loadPrices(context.api);
  } catch (error) {
    mount(
      body,
      h(
        'div',
        { class: 'notice error', role: 'alert', 'data-testid': 'load-failed' },
        h('strong', null, 'Prices could not be loaded'),
        errorMessage(error),
      ),
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => void renderPricesPage(main, context) },
        'Try again',
      ),
    );
    return;
  }
  const types = [...new Set(prices.data.map((model) => model.type))].sort();
  const typeId = uid('type');
  const typeSelect = h(
    'select',
    { id: typeId, 'data-testid': 'price-type' },
    h('option', { value: '' }, 'All types'),
    types.map((type) => h('option', { value: type }, humanize(type))),
  );
  const table = h('div', { class: 'card table-wrap' });
  const preview = costPreview(prices);
  const showTable = () => {
    const shown = prices.data.filter((model) => !typeSelect.value || model.type === typeSelect.value);
    mount(
      table,
      h(
        'table',
        { class: 'responsive', 'data-testid': 'price-list' },
        h('caption', null, `${shown.length} ${shown.length === 1 ? 'model' : 'models'}`),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Model'),
            h('th', { scope: 'col' }, 'Type'),
            h('th', { scope: 'col', class: 'num' }, 'Credits'),
            h('th', { scope: 'col', class: 'num' }, 'About'),
          ),
        ),
        h(
          'tbody',
          null,
          shown.map((model) => {
            const parts = priceParts(model.pricing, prices.usd_per_credit);
            return h(
              'tr',
              { 'data-model': model.id },
              h('th', { scope: 'row', 'data-label': 'Model' }, model.name),
              h('td', { 'data-label': 'Type' }, h('span', { class: 'tag' }, humanize(model.type))),
              h(
                'td',
                { 'data-label': 'Credits', class: 'num' },
                h(
                  'span',
                  { class: 'cell-stack' },
                  parts.length
                    ? parts.map((part) =>
                        h('span', null, `${creditsWithUsd(part.credits, null)} ${part.label}`),
                      )
                    : 'Free',
                ),
              ),
              h(
                'td',
                { 'data-label': 'About', class: 'num' },
                h(
                  'span',
                  { class: 'cell-stack' },
                  parts.map((part) => h('span', null, `${part.usd} ${part.label}`)),
                ),
              ),
            );
          }),
        ),
      ),
    );
    preview.setModels(shown);
  };
  typeSelect.addEventListener('change', showTable);
  mount(
    body,
    h(
      'div',
      { class: 'field', style: 'max-width:260px' },
      h('label', { for: typeId }, 'Model type'),
      typeSelect,
    ),
    preview.element,
    table,
  );
  showTable();
}

/** Pick a model, say how long or how many: the credits and ≈ $ before anything runs. */
function costPreview(prices: PriceList): { element: HTMLElement; setModels(models: PublicModel[]): void } {
  let models: PublicModel[] = [];
  const modelId = uid('preview-model');
  const quantityId = uid('preview-quantity');
  const countId = uid('preview-count');
  const inputId = uid('preview-input');
  const outputId = uid('preview-output');
  const number = (id: string, value: number, max: number, testid: string) =>
    h('input', {
      type: 'number',
      id,
      min: id === inputId || id === outputId ? 0 : 1,
      max,
      step: 'any',
      value,
      inputmode: 'decimal',
      'data-testid': testid,
    });
  const select = h('select', { id: modelId, 'data-testid': 'preview-model' });
  const quantity = number(quantityId, 8, 600, 'preview-quantity');
  const count = number(countId, 1, 100, 'preview-count');
  const inputTokens = number(inputId, 1000, 10_000_000, 'preview-input-tokens');
  const outputTokens = number(outputId, 1000, 10_000_000, 'preview-output-tokens');
  const quantityLabelElement = h('label', { for: quantityId }, 'Duration (seconds)');
  const quantityField = h('div', { class: 'field' }, quantityLabelElement, quantity);
  const tokenFields = h(
    'div',
    { class: 'row' },
    h('div', { class: 'field' }, h('label', { for: inputId }, 'Input tokens'), inputTokens),
    h('div', { class: 'field' }, h('label', { for: outputId }, 'Output tokens'), outputTokens),
  );
  const result = h('p', { class: 'preview-cost', 'aria-live': 'polite', 'data-testid': 'preview-cost' });
  const bounded = (input: HTMLInputElement) => {
    const value = Number(input.value);
    const max = Number(input.max);
    return Number.isFinite(value) && value >= Number(input.min) && value <= max ? value : null;
  };
  const update = () => {
    const model = models.find((candidate) => candidate.id === select.value);
    if (!model) {
      result.textContent = 'No model of this type.';
      return;
    }
    const pricing = model.pricing;
    quantityField.hidden = pricing.per_unit === undefined;
    quantityLabelElement.textContent = quantityLabel(pricing.unit);
    tokenFields.hidden = pricing.input_per_million === undefined && pricing.output_per_million === undefined;
    const work = {
      quantity: quantityField.hidden ? 1 : bounded(quantity),
      count: bounded(count),
      inputTokens: tokenFields.hidden ? 0 : bounded(inputTokens),
      outputTokens: tokenFields.hidden ? 0 : bounded(outputTokens),
    };
    if (
      work.quantity === null ||
      work.count === null ||
      work.inputTokens === null ||
      work.outputTokens === null
    ) {
      result.textContent = 'Enter amounts within the limits to see the cost.';
      return;
    }
    const credits = estimateCredits(pricing, {
      quantity: work.quantity,
      count: work.count,
      inputTokens: work.inputTokens,
      outputTokens: work.outputTokens,
    });
    result.textContent = `About ${creditsWithUsd(credits, prices.usd_per_credit)}`;
  };
  for (const input of [select, quantity, count, inputTokens, outputTokens]) {
    input.addEventListener('input', update);
    input.addEventListener('change', update);
  }
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'preview-heading', 'data-testid': 'cost-preview' },
    h('h2', { id: 'preview-heading' }, 'What would it cost?'),
    h('div', { class: 'field' }, h('label', { for: modelId }, 'Model'), select),
    h(
      'div',
      { class: 'row' },
      quantityField,
      h('div', { class: 'field' }, h('label', { for: countId }, 'How many'), count),
    ),
    tokenFields,
    result,
    h('p', { class: 'hint' }, 'An estimate: the exact amount is reserved when the work starts.'),
  );
  return {
    element,
    setModels(next) {
      const previous = select.value;
      models = next;
      mount(
        select,
        next
          .slice(0, 500)
          .map((model) =>
            h(
              'option',
              { value: model.id, selected: model.id === previous },
              `${model.name} (${model.type})`,
            ),
          ),
      );
      update();
    },
  };
}
