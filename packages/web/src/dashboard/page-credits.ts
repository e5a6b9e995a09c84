/**
 * Credits (seed 000): Balance (breakdown, buying credits, the result of a checkout, trying a
 * generation), Transactions (paginated history), Gift Codes (redeem, errors inline).
 */
import { ApiError, errorMessage } from './api.ts';
import { type BillingCatalog, type DashboardContext, type Notice, noticeRole } from './context.ts';
import {
  formatCredits,
  formatDate,
  formatSignedCredits,
  formatUsd,
  h,
  humanize,
  isBusy,
  mount,
  setBusy,
  uid,
} from './dom.ts';
import { createTabs, type Tabs } from './tabs.ts';

export const CREDIT_TABS = ['balance', 'transactions', 'gift-codes'] as const;

export function noticeElement(notice: Notice | null): HTMLElement | null {
  if (!notice) return null;
  return h(
    'div',
    {
      class: `notice ${notice.kind}`,
      role: noticeRole(notice),
      tabindex: -1,
      'data-testid': `notice-${notice.kind}`,
    },
    h('strong', null, notice.title),
    notice.text ? h('span', null, notice.text) : null,
  );
}

export function renderCreditsPage(main: HTMLElement, context: DashboardContext, tab: string): Tabs {
  const tabs = createTabs(
    'Credits',
    [
      { id: 'balance', label: 'Balance', render: (panel) => renderBalance(panel, context) },
      { id: 'transactions', label: 'Transactions', render: (panel) => renderTransactions(panel, context, 0) },
      { id: 'gift-codes', label: 'Gift Codes', render: (panel) => renderGiftCodes(panel, context) },
    ],
    tab,
    (id) => history.replaceState(null, '', `#/credits/${id}`),
  );
  mount(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Credits'),
      h('p', { class: 'muted' }, 'Your balance, what you have spent, and gift codes.'),
    ),
    tabs.element,
  );
  return tabs;
}

const SOURCE_LABELS: [key: string, label: string][] = [
  ['allowance', 'Plan allowance'],
  ['promo', 'Promotional'],
  ['gift', 'Gift codes'],
  ['purchase', 'Purchased'],
  ['adjustment', 'Adjustments'],
];

async function renderBalance(panel: HTMLElement, context: DashboardContext): Promise<void> {
  const notice = context.takeNotice('balance');
  mount(panel, noticeElement(notice), h('p', { class: 'muted' }, 'Loading your balance…'));
  let customer: any;
  let catalog: BillingCatalog;
  try {
    [customer, catalog] = await Promise.all([
      context.api.get(`/v1/customers/${encodeURIComponent(context.customerId)}`),
      context.api.get<BillingCatalog>('/v1/billing/catalog'),
    ]);
  } catch (error) {
    mount(
      panel,
      noticeElement(notice),
      h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)),
    );
    return;
  }
  const breakdown = customer.breakdown ?? {};
  const balanceCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'balance-heading' },
    h('h2', { id: 'balance-heading' }, 'Balance'),
    h('p', { class: 'big', 'data-testid': 'available-balance' }, formatCredits(customer.available)),
    h('p', { class: 'muted' }, 'credits available to spend'),
    h(
      'dl',
      { class: 'breakdown' },
      SOURCE_LABELS.filter(([key]) => key !== 'adjustment' || (breakdown[key] ?? 0) !== 0).map(
        ([key, label]) => [
          h('dt', null, label),
          h('dd', { 'data-source': key }, formatCredits(breakdown[key] ?? 0)),
        ],
      ),
      h('dt', null, 'Pending (reserved by running generations)'),
      h('dd', { 'data-source': 'pending' }, formatCredits(customer.pending)),
      h('dt', null, h('strong', null, 'Total balance')),
      h('dd', null, formatCredits(customer.balance)),
    ),
  );
  mount(
    panel,
    noticeElement(notice),
    h('div', { class: 'grid' }, balanceCard, buyCard(context, catalog)),
    await tryGenerationCard(context),
  );
}

function buyCard(context: DashboardContext, catalog: BillingCatalog): HTMLElement {
  const { purchase } = catalog;
  const amountId = uid('amount');
  const errorId = uid('buy-error');
  const summaryId = uid('buy-summary');
  const name = uid('pack');
  const amountInput = h('input', {
    type: 'number',
    id: amountId,
    name: 'amount_usd',
    min: purchase.minimum_usd,
    step: '1',
    inputmode: 'decimal',
    value: Math.max(purchase.minimum_usd, 10),
    'aria-describedby': `${summaryId} ${errorId}`,
    'data-testid': 'buy-amount',
  });
  const error = h('p', { class: 'field-error', id: errorId, role: 'alert' });
  const summary = h('p', { class: 'hint', id: summaryId, 'aria-live': 'polite' });
  const packChoice = (value: string, title: string, detail: string, checked: boolean) =>
    h(
      'label',
      { class: 'choice' },
      h('input', { type: 'radio', name, value, checked }),
      h('span', null, title, h('small', null, detail)),
    );
  const choices = h(
    'div',
    { class: 'choices' },
    catalog.credit_packs.map((pack) =>
      packChoice(pack.code, `${formatCredits(pack.credits)} credits`, formatUsd(pack.price_usd), false),
    ),
    packChoice('custom', 'Custom amount', `From ${formatUsd(purchase.minimum_usd)}`, true),
  );
  const selected = () =>
    (choices.querySelector('input:checked') as HTMLInputElement | null)?.value ?? 'custom';
  const update = () => {
    const pack = catalog.credit_packs.find((candidate) => candidate.code === selected());
    amountInput.disabled = Boolean(pack);
    if (pack) {
      summary.textContent = `You pay ${formatUsd(pack.price_usd)} and get ${formatCredits(pack.credits)} credits.`;
      return;
    }
    const amount = Number(amountInput.value);
    if (!Number.isFinite(amount) || amount <= 0) {
      summary.textContent = `Enter an amount of at least ${formatUsd(purchase.minimum_usd)}.`;
      return;
    }
    const base = amount / purchase.usd_per_credit;
    const tier = [...purchase.bonus]
      .sort((left, right) => right.from_usd - left.from_usd)
      .find((candidate) => amount >= candidate.from_usd);
    const bonus = tier ? (base * tier.percent) / 100 : 0;
    summary.textContent = `You pay ${formatUsd(amount)} and get ${formatCredits(base + bonus)} credits${
      tier ? ` (includes a ${tier.percent}% bonus)` : ''
    }.`;
  };
  choices.addEventListener('change', update);
  amountInput.addEventListener('input', update);
  update();

  const submit = h(
    'button',
    { type: 'submit', class: 'primary', 'data-testid': 'buy-credits' },
    'Buy credits',
  );
  const form = h(
    'form',
    {
      novalidate: true,
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        error.textContent = '';
        amountInput.removeAttribute('aria-invalid');
        const pack = catalog.credit_packs.find((candidate) => candidate.code === selected());
        const amount = Number(amountInput.value);
        if (!pack && (!Number.isFinite(amount) || amount < purchase.minimum_usd)) {
          error.textContent = `The minimum purchase is ${formatUsd(purchase.minimum_usd)}.`;
          amountInput.setAttribute('aria-invalid', 'true');
          amountInput.focus();
          return;
        }
        if (isBusy(submit)) return;
        setBusy(submit, true);
        submit.textContent = 'Opening checkout…';
        const back = `${location.origin}/dashboard/`;
        try {
          const session = await context.api.post(
            '/v1/checkout/sessions',
            {
              customer: context.customerId,
              ...(pack ? { pack: pack.code } : { amount_usd: amount }),
              success_url: `${back}?purchase=success&session_id={CHECKOUT_SESSION_ID}#/credits/balance`,
              cancel_url: `${back}?purchase=cancelled#/credits/balance`,
            },
            { idempotent: true },
          );
          location.assign(session.url);
        } catch (failure) {
          error.textContent = errorMessage(failure);
          setBusy(submit, false);
          submit.textContent = 'Buy credits';
        }
      },
    },
    h('fieldset', null, h('legend', null, 'Choose an amount'), choices),
    h(
      'div',
      { class: 'field' },
      h('label', { for: amountId }, 'Amount in US dollars'),
      amountInput,
      summary,
      error,
    ),
    h('div', { class: 'actions' }, submit),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'buy-heading', id: 'buy' },
    h('h2', { id: 'buy-heading' }, 'Buy credits'),
    h('p', { class: 'muted' }, 'Pay securely by card. Purchased credits never expire.'),
    form,
  );
}

async function tryGenerationCard(context: DashboardContext): Promise<HTMLElement> {
  const models = (await context.models().catch(() => [])).filter((model) => model.type !== 'language');
  const selectId = uid('model');
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'try-result' });
  const select = h(
    'select',
    { id: selectId },
    models.slice(0, 200).map((model) => h('option', { value: model.id }, `${model.name} (${model.type})`)),
  );
  const button = h(
    'button',
    { type: 'submit', class: 'secondary', 'data-testid': 'try-generation' },
    'Try a generation',
  );
  const form = h(
    'form',
    {
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        if (isBusy(button)) return;
        setBusy(button, true);
        mount(result);
        try {
          // A hold is exactly what an app asks for before generating: it answers whether this
          // would run and on what. It is released at once; nothing is charged.
          const hold = await context.api.post(
            '/v1/holds',
            { customer: context.customerId, model: select.value },
            { idempotent: true },
          );
          await context.api.post(`/v1/holds/${encodeURIComponent(hold.id)}/void`).catch(() => undefined);
          mount(
            result,
            h(
              'div',
              { class: 'notice success' },
              h('strong', null, 'Ready to generate'),
              hold.funding === 'byok'
                ? 'This would run on your own API key: no credits are used.'
                : `This would use ${formatCredits(hold.amount)} credits. Nothing was charged.`,
            ),
          );
        } catch (error) {
          if (error instanceof ApiError && error.code === 'insufficient_credits') {
            mount(
              result,
              h('div', { class: 'notice warning' }, h('strong', null, 'Insufficient credits'), error.message),
            );
            context.showGate('insufficient_credits', {
              required: error.details.required as number | undefined,
              available: error.details.available as number | undefined,
            });
          } else {
            mount(result, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
          }
        } finally {
          setBusy(button, false);
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: selectId }, 'Model'), select),
    h('div', { class: 'row' }, button),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'try-heading' },
    h('h2', { id: 'try-heading' }, 'Try a generation'),
    h(
      'p',
      { class: 'muted' },
      'Check whether a generation would run with your credits or keys — nothing is charged.',
    ),
    form,
    result,
  );
}

const PAGE_SIZE = 20;

async function renderTransactions(
  panel: HTMLElement,
  context: DashboardContext,
  page: number,
): Promise<void> {
  mount(panel, h('p', { class: 'muted' }, 'Loading transactions…'));
  let result: { data: any[]; has_more: boolean };
  try {
    result = await context.api.get(
      `/v1/customers/${encodeURIComponent(context.customerId)}/transactions?limit=${PAGE_SIZE}&offset=${page * PAGE_SIZE}`,
    );
  } catch (error) {
    mount(panel, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
    return;
  }
  const names = new Map((await context.models().catch(() => [])).map((model) => [model.id, model.name]));
  if (result.data.length === 0 && page === 0) {
    mount(panel, h('p', null, 'No transactions yet. Purchases, usage and gift codes will show up here.'));
    return;
  }
  const go = (target: number) => async () => {
    await renderTransactions(panel, context, target);
    (panel.querySelector('table') as HTMLElement | null)?.focus();
  };
  mount(
    panel,
    h(
      'div',
      { class: 'card table-wrap' },
      h(
        'table',
        { class: 'responsive', tabindex: -1, 'data-testid': 'transactions' },
        h('caption', null, `Transactions, page ${page + 1}`),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Date'),
            h('th', { scope: 'col' }, 'Type'),
            h('th', { scope: 'col' }, 'Model'),
            h('th', { scope: 'col', class: 'num' }, 'Amount'),
            h('th', { scope: 'col', class: 'num' }, 'Balance after'),
          ),
        ),
        h(
          'tbody',
          null,
          result.data.map((row) =>
            h(
              'tr',
              { 'data-type': row.type },
              h('td', { 'data-label': 'Date' }, formatDate(row.created_at)),
              h('td', { 'data-label': 'Type' }, h('span', { class: 'tag' }, humanize(row.type))),
              h('td', { 'data-label': 'Model' }, row.model ? (names.get(row.model) ?? row.model) : '—'),
              h(
                'td',
                {
                  'data-label': 'Amount',
                  class: `num ${row.amount > 0 ? 'pos' : 'neg'}`,
                  title: String(row.amount),
                },
                formatSignedCredits(row.amount),
              ),
              h('td', { 'data-label': 'Balance after', class: 'num' }, formatCredits(row.balance_after)),
            ),
          ),
        ),
      ),
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Transaction pages' },
      h(
        'button',
        { type: 'button', class: 'secondary', disabled: page === 0, onclick: go(page - 1) },
        '← Newer',
      ),
      h('span', { class: 'muted' }, `Page ${page + 1}`),
      h(
        'button',
        { type: 'button', class: 'secondary', disabled: !result.has_more, onclick: go(page + 1) },
        'Older →',
      ),
    ),
  );
}

function renderGiftCodes(panel: HTMLElement, context: DashboardContext): void {
  const inputId = uid('gift');
  const errorId = uid('gift-error');
  const input = h('input', {
    type: 'text',
    id: inputId,
    name: 'code',
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    required: true,
    'aria-describedby': errorId,
    'data-testid': 'gift-code',
  });
  const error = h('p', { class: 'field-error', id: errorId });
  const result = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Redeem');
  const form = h(
    'form',
    {
      novalidate: true,
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        error.textContent = '';
        error.removeAttribute('role');
        input.removeAttribute('aria-invalid');
        mount(result);
        const code = input.value.trim();
        const fail = (message: string) => {
          error.setAttribute('role', 'alert');
          error.textContent = message;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
        };
        if (code.length < 4) return fail('Enter the gift code exactly as you received it.');
        if (isBusy(button)) return;
        setBusy(button, true);
        try {
          const redemption = await context.api.post('/v1/gift-codes/redeem', { code }, { idempotent: true });
          input.value = '';
          mount(
            result,
            h(
              'div',
              { class: 'notice success', role: 'status', 'data-testid': 'gift-success' },
              h('strong', null, `${formatCredits(redemption.amount)} credits added`),
              `Your balance is now ${formatCredits(redemption.balance)} credits.`,
            ),
          );
          await context.refreshBalance();
        } catch (failure) {
          fail(
            failure instanceof ApiError && failure.code === 'not_found'
              ? "That gift code doesn't exist. Check it and try again."
              : errorMessage(failure),
          );
        } finally {
          setBusy(button, false);
        }
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { for: inputId }, 'Gift code'),
      h('div', { class: 'row' }, h('div', { style: 'flex:1;min-width:200px' }, input), button),
      error,
    ),
  );
  mount(
    panel,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'gift-heading' },
      h('h2', { id: 'gift-heading' }, 'Redeem a gift code'),
      h(
        'p',
        { class: 'muted' },
        'Gift codes add credits to your balance. Each code can be redeemed once per account.',
      ),
      form,
      result,
    ),
  );
}
