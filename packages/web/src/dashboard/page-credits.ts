/**
 * Credits (seed 000): Balance (breakdown, buying credits, the result of a checkout, trying a
 * generation), Transactions (paginated history), Gift Codes (redeem, errors inline).
 */
import { LARGE_PURCHASE_MAJOR_UNITS, parseUsdInput } from '../amounts.ts';
import { ApiError, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { type BillingCatalog, type DashboardContext, type Notice, noticeRole } from './context.ts';
import {
  formatApproxUsd,
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
import { creditsWithUsd, estimateCredits, loadPrices, quantityLabel } from './prices.ts';
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
  // Each card stands on its own: a failed catalog (plans, packs) must not hide the balance, and
  // whatever failed offers to try again.
  const [customerResult, catalogResult] = await Promise.allSettled([
    context.api.get(`/v1/customers/${encodeURIComponent(context.customerId)}`),
    context.api.get<BillingCatalog>('/v1/billing/catalog'),
  ]);
  const retry = (error: unknown, what: string) =>
    h(
      'section',
      { class: 'card', 'data-testid': 'load-failed' },
      h(
        'div',
        { class: 'notice error', role: 'alert' },
        h('strong', null, `${what} could not be loaded`),
        errorMessage(error),
      ),
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => void renderBalance(panel, context) },
        'Try again',
      ),
    );
  if (customerResult.status === 'rejected') {
    mount(panel, noticeElement(notice), retry(customerResult.reason, 'Your balance'));
    return;
  }
  const customer: any = customerResult.value;
  const breakdown: Record<string, number> = customer.breakdown ?? {};
  // Every source holding credits, known ones first, so that the rows add up to the total; what
  // running generations reserve is part of those sources, shown apart and taken off to give "available".
  const known = new Set(SOURCE_LABELS.map(([key]) => key));
  const sources: [string, string][] = [
    ...SOURCE_LABELS.filter(([key]) => key !== 'adjustment' || (breakdown[key] ?? 0) !== 0),
    ...Object.keys(breakdown)
      .filter((key) => !known.has(key) && breakdown[key] !== 0)
      .map((key): [string, string] => [key, humanize(key)]),
  ];
  const balanceCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'balance-heading' },
    h('h2', { id: 'balance-heading' }, 'Balance'),
    h('p', { class: 'big', 'data-testid': 'available-balance' }, formatCredits(customer.available)),
    h('p', { class: 'muted' }, 'credits available to spend'),
    h(
      'dl',
      { class: 'breakdown', 'data-testid': 'balance-sources' },
      sources.map(([key, label]) => [
        h('dt', null, label),
        h('dd', { 'data-source': key }, formatCredits(breakdown[key] ?? 0)),
      ]),
      h('dt', { class: 'total' }, h('strong', null, 'Total balance')),
      h('dd', { class: 'total', 'data-testid': 'total-balance' }, formatCredits(customer.balance)),
    ),
    h(
      'dl',
      { class: 'breakdown pending', 'data-testid': 'balance-pending' },
      h('dt', null, 'Reserved by running generations'),
      h('dd', { 'data-source': 'pending' }, formatSignedCredits(-customer.pending)),
      h('dt', null, h('strong', null, 'Available to spend')),
      h('dd', null, h('strong', null, formatCredits(customer.available))),
    ),
  );
  mount(
    panel,
    noticeElement(notice),
    h(
      'div',
      { class: 'grid' },
      balanceCard,
      catalogResult.status === 'fulfilled'
        ? buyCard(context, catalogResult.value)
        : retry(catalogResult.reason, 'Prices and plans'),
    ),
    await tryGenerationCard(context),
  );
}

function buyCard(context: DashboardContext, catalog: BillingCatalog): HTMLElement {
  const { purchase } = catalog;
  // One rule on every page (the widget's too): nothing sells below the configured minimum, so a
  // pack priced under it is not offered here (the API still sells it to an app that asks by code).
  const packs = catalog.credit_packs.filter((pack) => pack.price_usd >= purchase.minimum_usd);
  const amountId = uid('amount');
  const errorId = uid('buy-error');
  const summaryId = uid('buy-summary');
  const name = uid('pack');
  // Text, not type=number: "12,50" (a decimal comma) must read as $12.50, which a number input drops.
  const amountInput = h('input', {
    type: 'text',
    id: amountId,
    name: 'amount_usd',
    inputmode: 'decimal',
    autocomplete: 'off',
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
    packs.map((pack) =>
      packChoice(pack.code, `${formatCredits(pack.credits)} credits`, formatUsd(pack.price_usd), false),
    ),
    packChoice('custom', 'Custom amount', `From ${formatUsd(purchase.minimum_usd)}`, true),
  );
  const selected = () =>
    (choices.querySelector('input:checked') as HTMLInputElement | null)?.value ?? 'custom';
  const update = () => {
    const pack = packs.find((candidate) => candidate.code === selected());
    amountInput.disabled = Boolean(pack);
    if (pack) {
      summary.textContent = `You pay ${formatUsd(pack.price_usd)} and get ${formatCredits(pack.credits)} credits.`;
      return;
    }
    const amount = parseUsdInput(amountInput.value) ?? 0;
    if (amount <= 0) {
      summary.textContent = `Enter an amount in dollars of at least ${formatUsd(purchase.minimum_usd)}, like 20 or 12.50.`;
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
        const pack = packs.find((candidate) => candidate.code === selected());
        const amount = parseUsdInput(amountInput.value) ?? 0;
        if (!pack && amount < purchase.minimum_usd) {
          error.textContent = `The minimum purchase is ${formatUsd(purchase.minimum_usd)}.`;
          amountInput.setAttribute('aria-invalid', 'true');
          amountInput.focus();
          return;
        }
        if (isBusy(submit)) return;
        const paying = pack ? pack.price_usd : amount;
        if (
          paying >= LARGE_PURCHASE_MAJOR_UNITS &&
          !(await confirmDialog({
            title: `Pay ${formatUsd(paying)}?`,
            message: `You are about to pay ${formatUsd(paying)}. That is a large amount — check it before going on.`,
            confirmLabel: `Yes, pay ${formatUsd(paying)}`,
            cancelLabel: 'Change amount',
          }))
        )
          return;
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
  // Priced as this user pays (the app's share included), for the estimate shown before the click;
  // the catalog alone when the price list cannot be read (the hold still prices it exactly).
  const priceList = await loadPrices(context.api).catch(() => null);
  const usdPerCredit = priceList?.usd_per_credit ?? null;
  const models = (priceList?.data ?? (await context.models().catch(() => []))).filter(
    (model) => model.type !== 'language',
  );
  const estimate = h('p', { class: 'hint', 'aria-live': 'polite', 'data-testid': 'try-estimate' });
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
  // A per-second (or per-unit) model is priced for its duration, and any model for how many: one
  // second of an 8-second video is not its price.
  const durationId = uid('duration');
  const countId = uid('count');
  const duration = h('input', {
    type: 'number',
    id: durationId,
    min: 1,
    max: 600,
    step: 'any',
    value: 8,
    inputmode: 'decimal',
    'data-testid': 'try-duration',
  });
  const count = h('input', {
    type: 'number',
    id: countId,
    min: 1,
    max: 100,
    step: 1,
    value: 1,
    inputmode: 'numeric',
    'data-testid': 'try-count',
  });
  const durationLabel = h('label', { for: durationId }, 'Duration (seconds)');
  const durationField = h('div', { class: 'field' }, durationLabel, duration);
  let unitWords = 'seconds';
  const syncInputs = () => {
    const model = models.find((candidate) => candidate.id === select.value);
    const unit = model?.pricing.per_unit !== undefined ? (model.pricing.unit ?? 'unit') : null;
    durationField.hidden = unit === null;
    unitWords = unit === 'second' ? 'seconds' : `${unit}s`;
    durationLabel.textContent = quantityLabel(model?.pricing.unit);
    showEstimate();
  };
  const showEstimate = () => {
    const model = models.find((candidate) => candidate.id === select.value);
    const seconds = Number(duration.value);
    const copies = Number(count.value);
    if (
      !model ||
      !(copies >= 1 && copies <= 100) ||
      (!durationField.hidden && !(seconds > 0 && seconds <= 600))
    ) {
      estimate.textContent = '';
      return;
    }
    const credits = estimateCredits(model.pricing, {
      quantity: durationField.hidden ? 1 : seconds,
      count: Math.floor(copies),
    });
    estimate.textContent = `Estimated cost: ${creditsWithUsd(credits, usdPerCredit)}.`;
  };
  select.addEventListener('change', () => {
    syncInputs();
    mount(result);
  });
  duration.addEventListener('input', showEstimate);
  count.addEventListener('input', showEstimate);
  syncInputs();
  const form = h(
    'form',
    {
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        if (isBusy(button)) return;
        setBusy(button, true);
        mount(result);
        /** Refused on the first hold (one of them): the batch needs `copies` times what it says. */
        let scale = 1;
        try {
          // A hold is exactly what an app asks for before generating: it answers whether this
          // would run, on what, and at what price (the app's share included). It is released at
          // once; nothing is charged.
          const perUnit = !durationField.hidden;
          const seconds = Number(duration.value);
          const copies = Math.floor(Number(count.value));
          if (perUnit && !(seconds > 0 && seconds <= 600))
            throw new Error('Enter a duration between 1 and 600.');
          if (!(copies >= 1 && copies <= 100)) throw new Error('Enter how many, from 1 to 100.');
          scale = copies;
          const hold = await context.api.post(
            '/v1/holds',
            { customer: context.customerId, model: select.value, ...(perUnit ? { quantity: seconds } : {}) },
            { idempotent: true },
          );
          await context.api.post(`/v1/holds/${encodeURIComponent(hold.id)}/void`).catch(() => undefined);
          scale = 1;
          const each = Number(hold.amount);
          const total = Math.round(each * copies * 1_000_000) / 1_000_000;
          if (hold.funding !== 'byok' && copies > 1) {
            // The whole batch must fit in the balance, not just one of it.
            const batch = await context.api.post(
              '/v1/holds',
              { customer: context.customerId, model: select.value, amount: total },
              { idempotent: true },
            );
            await context.api.post(`/v1/holds/${encodeURIComponent(batch.id)}/void`).catch(() => undefined);
          }
          const what = `${copies > 1 ? `${copies} × ` : ''}${perUnit ? `${seconds} ${unitWords}` : 'one call'}`;
          mount(
            result,
            h(
              'div',
              { class: 'notice success', 'data-testid': 'try-ready' },
              h('strong', null, 'Ready to generate'),
              hold.funding === 'byok'
                ? 'This would run on your own API key: no credits are used.'
                : `${what}: ${copies > 1 ? `${formatCredits(each)} credits each, ` : ''}${formatCredits(total)} credits in all${usdPerCredit === null ? '' : ` (${formatApproxUsd(total, usdPerCredit)})`}. Nothing was charged.`,
            ),
          );
        } catch (error) {
          if (error instanceof ApiError && error.code === 'insufficient_credits') {
            const needed = error.details.required as number | undefined;
            const required = needed === undefined ? undefined : Math.round(needed * scale * 1e6) / 1e6;
            const available = error.details.available as number | undefined;
            mount(
              result,
              h(
                'div',
                { class: 'notice warning', 'data-testid': 'try-insufficient' },
                h('strong', null, 'Not enough credits'),
                required !== undefined && available !== undefined
                  ? `This needs ${formatCredits(required)} credits${usdPerCredit === null ? '' : ` (${formatApproxUsd(required, usdPerCredit)})`}; you have ${formatCredits(available)} available.`
                  : 'Add credits or your own API key to run it.',
              ),
            );
            context.showGate('insufficient_credits', { required, available });
          } else {
            mount(result, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
          }
        } finally {
          setBusy(button, false);
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: selectId }, 'Model'), select),
    h(
      'div',
      { class: 'row' },
      durationField,
      h('div', { class: 'field' }, h('label', { for: countId }, 'How many'), count),
    ),
    estimate,
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
    // The first page starts with what running generations reserve (pending, not yet taken).
    result = await context.api.get(
      `/v1/customers/${encodeURIComponent(context.customerId)}/transactions?limit=${PAGE_SIZE}&offset=${page * PAGE_SIZE}&include_pending=true`,
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
    h('div', { class: 'statement-actions' }, downloadStatementButton(context)),
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
            h('th', { scope: 'col' }, 'Description'),
            h('th', { scope: 'col', class: 'num' }, 'Amount'),
            h('th', { scope: 'col', class: 'num' }, 'Balance after'),
          ),
        ),
        h(
          'tbody',
          null,
          result.data.map((row) => {
            const pending = row.status === 'pending';
            // The model's display name in place of its id, where the summary starts with it.
            const summary: string = row.summary ?? humanize(row.type);
            const described =
              row.model && names.has(row.model) && summary.startsWith(row.model)
                ? `${names.get(row.model)}${summary.slice(row.model.length)}`
                : summary;
            return h(
              'tr',
              { 'data-type': row.type, class: pending ? 'pending' : null },
              h('td', { 'data-label': 'Date' }, formatDate(row.created_at)),
              h(
                'td',
                { 'data-label': 'Type' },
                h('span', { class: 'tag' }, pending ? 'Pending' : humanize(row.type)),
              ),
              h(
                'td',
                { 'data-label': 'Description' },
                h(
                  'span',
                  { class: 'cell-stack' },
                  h('span', null, described),
                  row.receipt
                    ? h(
                        'a',
                        {
                          href: `#/receipts/${encodeURIComponent(row.receipt)}`,
                          'data-testid': 'receipt-link',
                        },
                        'Receipt',
                      )
                    : null,
                ),
              ),
              h(
                'td',
                {
                  'data-label': 'Amount',
                  class: `num ${row.amount > 0 ? 'pos' : 'neg'}`,
                  title: String(row.amount),
                },
                formatSignedCredits(row.amount),
              ),
              h(
                'td',
                { 'data-label': 'Balance after', class: 'num' },
                pending ? 'Reserved' : formatCredits(row.balance_after),
              ),
            );
          }),
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

/** The whole statement as CSV, streamed by the server; saved under a dated name. */
function downloadStatementButton(context: DashboardContext): HTMLElement {
  const status = h('span', { class: 'field-error', role: 'alert' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'data-testid': 'download-statement',
      onclick: async () => {
        if (isBusy(button)) return;
        setBusy(button, true);
        status.textContent = '';
        try {
          const file = await context.api.file(
            `/v1/customers/${encodeURIComponent(context.customerId)}/transactions?format=csv`,
          );
          const url = URL.createObjectURL(file);
          const link = h('a', {
            href: url,
            download: `statement-${new Date().toISOString().slice(0, 10)}.csv`,
            hidden: true,
          });
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
        } catch (error) {
          status.textContent = errorMessage(error);
        } finally {
          setBusy(button, false);
        }
      },
    },
    'Download CSV',
  );
  return h('span', null, button, status);
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
          // The same number as the header: what can be spent now (the redemption answers the total).
          const available = await context.refreshBalance();
          mount(
            result,
            h(
              'div',
              { class: 'notice success', role: 'status', 'data-testid': 'gift-success' },
              h('strong', null, `${formatCredits(redemption.amount)} credits added`),
              available === null ? null : `You now have ${formatCredits(available)} credits available.`,
            ),
          );
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
