/**
 * The partner view at /partner/ for an app's operator, signed in with the app's secret key (or the
 * admin key), kept in sessionStorage only: revenue and referral earnings over time, customers with
 * balances, the latest usage, gift-code batches (and creating codes), the catalog with prices.
 * Hash routes: #/overview, #/customers (#/customers/<id>: one customer), #/usage, #/gift-codes,
 * #/models, #/setup (embed snippet, referral rate), #/webhooks.
 */
import { type Api, ApiError, createApi, errorMessage } from './api.ts';
import { lineChart } from './charts.ts';
import { describePrice, type PublicModel } from './context.ts';
import {
  formatCredits,
  formatDate,
  formatUsd,
  h,
  humanize,
  injectStyles,
  isBusy,
  mount,
  setBusy,
  storageGet,
  storageSet,
  uid,
} from './dom.ts';
import { renderCustomer } from './partner-customer.ts';
import { type Account, customerLabel, failure, formatRate, head } from './partner-parts.ts';
import { renderSetup } from './partner-setup.ts';
import { renderWebhooks } from './partner-webhooks.ts';
import { STYLES } from './styles.ts';

const KEY_NAME = 'tollgate.partner_key';
const root = document.getElementById('app')!;
injectStyles(STYLES);
let stopPartner: (() => void) | null = null;

async function boot(message?: { kind: string; title: string }): Promise<void> {
  const key = storageGet(sessionStorage, KEY_NAME);
  if (!key) return renderSignIn(message);
  const api = createApi(key, () => {
    storageSet(sessionStorage, KEY_NAME, null);
    renderSignIn({ kind: 'warning', title: 'Your key was refused; sign in again.' });
  });
  try {
    const account = await api.get<Account>('/v1/partner/account');
    startPartner(api, account);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      storageSet(sessionStorage, KEY_NAME, null);
      return renderSignIn({
        kind: 'error',
        title: error.status === 403 ? 'This page needs an app secret key or the admin key.' : error.message,
      });
    }
    mount(root, h('main', null, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error))));
  }
}

function renderSignIn(notice?: { kind: string; title: string }): void {
  stopPartner?.();
  stopPartner = null;
  document.title = 'Partner sign-in — Tollgate';
  const inputId = uid('partner-key');
  const errorId = uid('partner-error');
  const input = h('input', {
    type: 'password',
    id: inputId,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'tg_sk_…',
    'aria-describedby': errorId,
    'data-testid': 'partner-key',
  });
  const error = h('p', { class: 'field-error', id: errorId });
  mount(
    root,
    h(
      'main',
      { id: 'main' },
      h(
        'div',
        { class: 'sign-in' },
        notice
          ? h(
              'div',
              { class: `notice ${notice.kind}`, role: notice.kind === 'error' ? 'alert' : 'status' },
              notice.title,
            )
          : null,
        h(
          'section',
          { class: 'card' },
          h('h1', null, 'Partner view'),
          h(
            'p',
            { class: 'muted' },
            "Sign in with your app's secret key (tg_sk_…) or the operator's admin key. It is kept only in this tab.",
          ),
          h(
            'form',
            {
              novalidate: true,
              onsubmit: async (event: SubmitEvent) => {
                event.preventDefault();
                const key = input.value.trim();
                error.textContent = '';
                input.removeAttribute('aria-invalid');
                try {
                  if (!key) throw new Error('Enter a key.');
                  await createApi(key).get('/v1/partner/account');
                  storageSet(sessionStorage, KEY_NAME, key);
                  await boot();
                } catch (failure) {
                  error.setAttribute('role', 'alert');
                  error.textContent =
                    failure instanceof ApiError && failure.status === 403
                      ? 'That is a user key; use the app secret key.'
                      : failure instanceof ApiError && failure.status === 401
                        ? 'That key is not valid.'
                        : errorMessage(failure);
                  input.setAttribute('aria-invalid', 'true');
                  input.focus();
                }
              },
            },
            h('div', { class: 'field' }, h('label', { for: inputId }, 'Secret or admin key'), input, error),
            h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
          ),
        ),
      ),
    ),
  );
  input.focus();
}

const PAGES = [
  { id: 'overview', label: 'Overview' },
  { id: 'customers', label: 'Customers' },
  { id: 'usage', label: 'Recent usage' },
  { id: 'gift-codes', label: 'Gift codes' },
  { id: 'models', label: 'Models' },
  { id: 'setup', label: 'Setup' },
  { id: 'webhooks', label: 'Webhooks' },
] as const;

function startPartner(api: Api, account: Account): void {
  stopPartner?.();
  const lifetime = new AbortController();
  stopPartner = () => lifetime.abort();
  const links = PAGES.map((page) => h('a', { href: `#/${page.id}`, 'data-page': page.id }, page.label));
  const main = h('main', { id: 'main', tabindex: -1 });
  mount(
    root,
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onclick: (event: Event) => {
          event.preventDefault();
          main.focus();
        },
      },
      'Skip to content',
    ),
    h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'top-inner' },
        h(
          'a',
          { class: 'brand', href: '#/overview' },
          h('span', { class: 'logo', 'aria-hidden': 'true' }),
          'Partner',
        ),
        h(
          'nav',
          { class: 'main-nav', 'aria-label': 'Partner view' },
          h(
            'ul',
            null,
            links.map((link) => h('li', null, link)),
          ),
        ),
        h(
          'div',
          { class: 'who' },
          h(
            'span',
            { class: 'pill', 'data-testid': 'partner-account' },
            account.app ? account.app.name : 'Operator (all apps)',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => {
                storageSet(sessionStorage, KEY_NAME, null);
                renderSignIn({ kind: 'info', title: 'You have signed out' });
                history.replaceState(null, '', '/partner/');
              },
            },
            'Sign out',
          ),
        ),
      ),
    ),
    main,
  );
  let first = true;
  const render = () => {
    const [id = 'overview', detail] = location.hash.replace(/^#\/?/, '').split('/');
    const page = PAGES.find((candidate) => candidate.id === id) ?? PAGES[0];
    for (const link of links) {
      if (link.dataset.page === page.id) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    document.title = `${page.label} — Partner — Tollgate`;
    if (page.id === 'overview') renderOverview(main, api, account);
    if (page.id === 'customers' && detail) renderCustomer(main, api, decodeURIComponent(detail));
    else if (page.id === 'customers') renderCustomers(main, api, 0, '');
    if (page.id === 'usage') renderRecentUsage(main, api);
    if (page.id === 'gift-codes') renderGiftCodes(main, api, account);
    if (page.id === 'models') renderModels(main, api);
    if (page.id === 'setup') renderSetup(main, api, account);
    if (page.id === 'webhooks') renderWebhooks(main, api, account);
    if (!first) (main.querySelector('h1') as HTMLElement | null)?.focus();
    first = false;
  };
  window.addEventListener('hashchange', render, { signal: lifetime.signal });
  render();
}

interface PartnerStats {
  from: string;
  to: string;
  totals: Record<string, number>;
  data: ({ date: string } & Record<string, number>)[];
}

function renderOverview(main: HTMLElement, api: Api, account: Account): void {
  const periodId = uid('period');
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const period = h(
    'select',
    { id: periodId, onchange: () => void load() },
    [7, 30, 90].map((days) => h('option', { value: days, selected: days === 30 }, `Last ${days} days`)),
  );
  mount(
    main,
    head(
      'Overview',
      account.app
        ? `Revenue and referral earnings of ${account.app.name}.`
        : 'Revenue and referral earnings of every app.',
    ),
    h('div', { class: 'field', style: 'max-width:220px' }, h('label', { for: periodId }, 'Period'), period),
    body,
  );
  async function load() {
    let stats: PartnerStats;
    let earnings: { owed: number; paid: number } | null = null;
    let usdPerCredit = 0.01;
    try {
      const [loaded, catalog, statement] = await Promise.all([
        api.get<PartnerStats>(`/v1/partner/stats?days=${period.value}`),
        api.get('/v1/billing/catalog').catch(() => null),
        // Owed and paid out, all time (one app's statement; the operator sees every app's stats instead).
        account.app
          ? api
              .get<{ owed: number; paid: number }>(`/v1/apps/${encodeURIComponent(account.app.id)}/earnings`)
              .catch(() => null)
          : null,
      ]);
      stats = loaded;
      earnings = statement;
      usdPerCredit = catalog?.purchase?.usd_per_credit ?? usdPerCredit;
    } catch (error) {
      mount(body, failure(error));
      return;
    }
    const toUsd = (credits: number) => Math.round(credits * usdPerCredit * 100) / 100;
    const stat = (label: string, value: string, detail: string, testId?: string) =>
      h(
        'div',
        { class: 'stat' },
        h('div', { class: 'label' }, label),
        h('div', { class: 'value', 'data-testid': testId }, value),
        h('div', { class: 'label' }, detail),
      );
    const totals = stats.totals;
    mount(
      body,
      h(
        'div',
        { class: 'stats' },
        stat(
          'Purchases',
          formatUsd(totals.purchases_usd ?? 0),
          `${totals.purchases_count ?? 0} payment${totals.purchases_count === 1 ? '' : 's'}`,
          'total-purchases',
        ),
        stat(
          'Plan payments',
          formatUsd(totals.subscriptions_usd ?? 0),
          `${totals.subscriptions_count ?? 0} payment${totals.subscriptions_count === 1 ? '' : 's'} (starts, upgrades, renewals)`,
          'total-subscriptions',
        ),
        stat(
          'Usage charged',
          `${formatCredits(totals.usage_charged ?? 0)}`,
          `credits · ${totals.usage_count ?? 0} generations`,
        ),
        stat(
          'Referral earnings',
          `${formatCredits(totals.referral_share ?? 0)}`,
          `credits ≈ ${formatUsd(toUsd(totals.referral_share ?? 0))}`,
          'total-referral',
        ),
        stat('Provider cost', `${formatCredits(totals.provider_cost ?? 0)}`, 'credits'),
        account.app
          ? stat(
              'Referral rate',
              formatRate(account.app.referral_rate),
              `of provider cost · at most ${formatRate(account.app.referral_rate_max ?? account.app.referral_rate)}`,
              'referral-rate',
            )
          : null,
        earnings
          ? stat(
              'Owed to you',
              formatCredits(earnings.owed),
              `credits, all time · ${formatCredits(earnings.paid)} paid out`,
              'earnings-owed',
            )
          : null,
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'earnings-heading' },
        h('h2', { id: 'earnings-heading' }, 'Usage and referral earnings per day (credits)'),
        lineChart({
          title: `Usage charged and referral earnings per day, ${stats.from} to ${stats.to}`,
          description: `${formatCredits(totals.usage_charged ?? 0)} credits of usage charged, of which ${formatCredits(totals.referral_share ?? 0)} credits are your referral earnings, in this period.`,
          series: [
            { key: 'usage', label: 'Usage charged', color: '#0284c7' },
            { key: 'referral', label: 'Referral earnings', color: '#059669' },
          ],
          data: stats.data.map((day) => ({
            label: day.date,
            values: { usage: day.usage_charged ?? 0, referral: day.referral_share ?? 0 },
          })),
          format: formatCredits,
        }),
        h('p', { class: 'hint' }, `At ${formatUsd(usdPerCredit)} per credit.`),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'revenue-heading' },
        h('h2', { id: 'revenue-heading' }, 'Revenue per day (USD)'),
        lineChart({
          title: `Credit purchases and plan payments per day, ${stats.from} to ${stats.to}`,
          description: `${formatUsd(totals.purchases_usd ?? 0)} from ${totals.purchases_count ?? 0} credit purchases and ${formatUsd(totals.subscriptions_usd ?? 0)} from ${totals.subscriptions_count ?? 0} plan payments in this period.`,
          series: [
            { key: 'purchases', label: 'Credit purchases', color: '#4f46e5' },
            { key: 'subscriptions', label: 'Plan payments', color: '#c2410c' },
          ],
          data: stats.data.map((day) => ({
            label: day.date,
            values: { purchases: day.purchases_usd ?? 0, subscriptions: day.subscriptions_usd ?? 0 },
          })),
          format: (value) => formatUsd(value),
        }),
      ),
    );
  }
  void load();
}

function renderCustomers(main: HTMLElement, api: Api, page: number, search: string): void {
  const searchId = uid('search');
  const input = h('input', {
    type: 'search',
    id: searchId,
    value: search,
    placeholder: 'External id, email or cus_…',
  });
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading customers…'));
  mount(
    main,
    head('Customers', 'Your customers and their balances, newest first.'),
    h(
      'form',
      {
        role: 'search',
        class: 'row',
        style: 'margin-bottom:16px',
        onsubmit: (event: SubmitEvent) => {
          event.preventDefault();
          renderCustomers(main, api, 0, input.value.trim());
          (main.querySelector('input[type=search]') as HTMLElement | null)?.focus();
        },
      },
      h('div', { style: 'flex:1;min-width:200px' }, h('label', { for: searchId }, 'Search customers'), input),
      h('button', { type: 'submit', class: 'secondary' }, 'Search'),
    ),
    body,
  );
  const limit = 25;
  void (async () => {
    let result: { data: any[]; has_more: boolean };
    try {
      result = await api.get(
        `/v1/customers?limit=${limit}&offset=${page * limit}${search ? `&q=${encodeURIComponent(search)}` : ''}`,
      );
    } catch (error) {
      mount(body, failure(error));
      return;
    }
    if (result.data.length === 0) {
      mount(body, h('p', null, search ? 'No customer matches.' : 'No customers yet.'));
      return;
    }
    mount(
      body,
      h(
        'div',
        { class: 'card' },
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'responsive', 'data-testid': 'customers' },
            h('caption', { class: 'sr-only' }, 'Customers'),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Customer', 'Email', 'Balance', 'Available', 'Pending', 'Since', 'Last activity'].map(
                  (label, index) =>
                    h('th', { scope: 'col', class: index >= 2 && index <= 4 ? 'num' : null }, label),
                ),
              ),
            ),
            h(
              'tbody',
              null,
              result.data.map((customer) =>
                h(
                  'tr',
                  { 'data-customer': customer.id },
                  h(
                    'th',
                    { scope: 'row', 'data-label': 'Customer' },
                    h(
                      'span',
                      { class: 'cell-stack' },
                      h(
                        'a',
                        {
                          href: `#/customers/${encodeURIComponent(customer.id)}`,
                          'data-testid': 'customer-link',
                        },
                        customerLabel(customer),
                      ),
                      h('code', { class: 'muted' }, customer.id),
                    ),
                  ),
                  h('td', { 'data-label': 'Email' }, customer.email ?? '—'),
                  h('td', { 'data-label': 'Balance', class: 'num' }, formatCredits(customer.balance)),
                  h('td', { 'data-label': 'Available', class: 'num' }, formatCredits(customer.available)),
                  h('td', { 'data-label': 'Pending', class: 'num' }, formatCredits(customer.pending)),
                  h('td', { 'data-label': 'Since' }, formatDate(customer.created_at, false)),
                  h('td', { 'data-label': 'Last activity' }, formatDate(customer.last_activity_at)),
                ),
              ),
            ),
          ),
        ),
        h(
          'nav',
          { class: 'pager', 'aria-label': 'Customer pages' },
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              disabled: page === 0,
              onclick: () => renderCustomers(main, api, page - 1, search),
            },
            '← Previous',
          ),
          h('span', { class: 'muted' }, `Page ${page + 1}`),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              disabled: !result.has_more,
              onclick: () => renderCustomers(main, api, page + 1, search),
            },
            'Next →',
          ),
        ),
      ),
    );
  })();
}

function renderRecentUsage(main: HTMLElement, api: Api): void {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading usage…'));
  mount(main, head('Recent usage', 'The latest generations charged to your customers.'), body);
  void (async () => {
    let result: { data: any[] };
    let names: Map<string, string>;
    try {
      const [usage, models] = await Promise.all([
        api.get<{ data: any[] }>('/v1/partner/usage?limit=50'),
        api.get<{ data: { id: string; name: string }[] }>('/v1/models').catch(() => ({ data: [] })),
      ]);
      result = usage;
      names = new Map(models.data.map((model) => [model.id, model.name]));
    } catch (error) {
      mount(body, failure(error));
      return;
    }
    if (result.data.length === 0) return mount(body, h('p', null, 'No usage yet.'));
    mount(
      body,
      h(
        'div',
        { class: 'card table-wrap' },
        h(
          'table',
          { class: 'responsive', 'data-testid': 'recent-usage' },
          h('caption', { class: 'sr-only' }, 'Recent usage'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Date', 'Customer', 'Model', 'Type', 'Charged', 'Referral share'].map((label, index) =>
                h('th', { scope: 'col', class: index >= 4 ? 'num' : null }, label),
              ),
            ),
          ),
          h(
            'tbody',
            null,
            result.data.map((row) =>
              h(
                'tr',
                null,
                h('td', { 'data-label': 'Date' }, formatDate(row.created_at)),
                h(
                  'td',
                  { 'data-label': 'Customer' },
                  h(
                    'a',
                    { href: `#/customers/${encodeURIComponent(row.customer)}` },
                    customerLabel({ id: row.customer, external_id: row.external_id, email: row.email }),
                  ),
                ),
                h(
                  'td',
                  { 'data-label': 'Model', title: row.model ?? undefined },
                  row.model ? (names.get(row.model) ?? row.model) : '—',
                ),
                h('td', { 'data-label': 'Type' }, h('span', { class: 'tag' }, humanize(row.type))),
                h('td', { 'data-label': 'Charged', class: 'num' }, formatCredits(row.amount)),
                h(
                  'td',
                  { 'data-label': 'Referral share', class: 'num' },
                  row.referral_share === null ? '—' : formatCredits(row.referral_share),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  })();
}

function renderGiftCodes(main: HTMLElement, api: Api, account: Account): void {
  const batches = h('div', null, h('p', { class: 'muted' }, 'Loading batches…'));
  const created = h('div', { 'aria-live': 'polite', style: 'margin-top:16px' });
  const ids = {
    amount: uid('amount'),
    count: uid('count'),
    max: uid('max'),
    expires: uid('expires'),
    error: uid('gift-error'),
  };
  const amount = h('input', {
    type: 'number',
    id: ids.amount,
    min: 0.000001,
    step: 'any',
    value: 100,
    required: true,
    'aria-describedby': ids.error,
  });
  const count = h('input', {
    type: 'number',
    id: ids.count,
    min: 1,
    max: 1000,
    step: 1,
    value: 1,
    required: true,
  });
  const maxRedemptions = h('input', {
    type: 'number',
    id: ids.max,
    min: 1,
    step: 1,
    value: 1,
    required: true,
  });
  const expires = h('input', { type: 'date', id: ids.expires });
  const error = h('p', { class: 'field-error', id: ids.error });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create codes');
  mount(
    main,
    head(
      'Gift codes',
      account.app
        ? 'Codes your customers redeem for credits (only in this app).'
        : 'Codes not tied to an app.',
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'create-heading' },
      h('h2', { id: 'create-heading' }, 'Create codes'),
      h(
        'form',
        {
          novalidate: true,
          onsubmit: async (event: SubmitEvent) => {
            event.preventDefault();
            error.textContent = '';
            mount(created);
            const body: Record<string, unknown> = {
              amount: Number(amount.value),
              count: Number(count.value),
              max_redemptions: Number(maxRedemptions.value),
            };
            if (!(Number(amount.value) > 0)) {
              error.setAttribute('role', 'alert');
              error.textContent = 'Enter how many credits each code gives.';
              amount.focus();
              return;
            }
            if (expires.value) body.expires_at = new Date(`${expires.value}T23:59:59Z`).toISOString();
            if (isBusy(submit)) return;
            setBusy(submit, true);
            try {
              const result = await api.post('/v1/gift-codes', body, { idempotent: true });
              const codes: string[] = result.codes ?? [];
              const list = h(
                'pre',
                {
                  class: 'codes mono',
                  tabindex: 0,
                  'aria-label': 'New gift codes',
                  'data-testid': 'new-codes',
                },
                codes.join('\n'),
              );
              mount(
                created,
                h(
                  'div',
                  { class: 'notice success', role: 'status' },
                  h('strong', null, `${codes.length} code${codes.length === 1 ? '' : 's'} created`),
                  'Copy them now: they are stored hashed and will not be shown again.',
                ),
                list,
                h(
                  'div',
                  { class: 'row', style: 'margin-top:8px' },
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary',
                      onclick: async (event: Event) => {
                        const button = event.currentTarget as HTMLButtonElement;
                        await navigator.clipboard?.writeText(codes.join('\n')).catch(() => undefined);
                        button.textContent = 'Copied';
                      },
                    },
                    'Copy codes',
                  ),
                ),
              );
              await loadBatches();
            } catch (failure) {
              error.setAttribute('role', 'alert');
              error.textContent = errorMessage(failure);
            } finally {
              setBusy(submit, false);
            }
          },
        },
        h(
          'div',
          { class: 'grid', style: 'grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px' },
          h('div', { class: 'field' }, h('label', { for: ids.amount }, 'Credits per code'), amount),
          h('div', { class: 'field' }, h('label', { for: ids.count }, 'Number of codes'), count),
          h('div', { class: 'field' }, h('label', { for: ids.max }, 'Redemptions per code'), maxRedemptions),
          h('div', { class: 'field' }, h('label', { for: ids.expires }, 'Expires (optional)'), expires),
        ),
        error,
        h('div', { class: 'actions' }, submit),
      ),
      created,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'batches-heading' },
      h('h2', { id: 'batches-heading' }, 'Batches'),
      batches,
    ),
  );
  async function loadBatches() {
    let result: { data: any[] };
    try {
      result = await api.get('/v1/gift-codes');
    } catch (failureValue) {
      mount(batches, failure(failureValue));
      return;
    }
    if (result.data.length === 0) return mount(batches, h('p', { class: 'muted' }, 'No gift codes yet.'));
    mount(
      batches,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'responsive', 'data-testid': 'gift-batches' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Created', 'Credits per code', 'Codes', 'Redeemed', 'Per code', 'Expires'].map(
                (label, index) =>
                  h('th', { scope: 'col', class: index >= 1 && index <= 4 ? 'num' : null }, label),
              ),
            ),
          ),
          h(
            'tbody',
            null,
            result.data.map((batch) =>
              h(
                'tr',
                null,
                h('td', { 'data-label': 'Created' }, formatDate(batch.created_at)),
                h('td', { 'data-label': 'Credits per code', class: 'num' }, formatCredits(batch.amount)),
                h('td', { 'data-label': 'Codes', class: 'num' }, String(batch.count)),
                h('td', { 'data-label': 'Redeemed', class: 'num' }, String(batch.redemptions)),
                h('td', { 'data-label': 'Per code', class: 'num' }, String(batch.max_redemptions)),
                h(
                  'td',
                  { 'data-label': 'Expires' },
                  batch.expires_at ? formatDate(batch.expires_at, false) : 'Never',
                  batch.expires_at && new Date(batch.expires_at).getTime() < Date.now()
                    ? h('span', { class: 'tag expired', 'data-testid': 'batch-expired' }, 'Expired')
                    : null,
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  void loadBatches();
}

function renderModels(main: HTMLElement, api: Api): void {
  const typeId = uid('type');
  const searchId = uid('model-search');
  const type = h('select', { id: typeId }, h('option', { value: '' }, 'All types'));
  const search = h('input', { type: 'search', id: searchId, placeholder: 'Name or id' });
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading the catalog…'));
  mount(
    main,
    head(
      'Models',
      'The catalog and what each model costs your customers, in credits (before your referral share).',
    ),
    h(
      'div',
      {
        class: 'grid',
        style: 'grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-bottom:8px',
      },
      h('div', { class: 'field' }, h('label', { for: typeId }, 'Type'), type),
      h('div', { class: 'field' }, h('label', { for: searchId }, 'Filter'), search),
    ),
    body,
  );
  void (async () => {
    let models: PublicModel[];
    try {
      models = (await api.get<{ data: PublicModel[] }>('/v1/models')).data;
    } catch (error) {
      mount(body, failure(error));
      return;
    }
    for (const value of [...new Set(models.map((model) => model.type))].sort())
      type.append(h('option', { value }, humanize(value)));
    const draw = () => {
      const needle = search.value.trim().toLowerCase();
      const shown = models.filter(
        (model) =>
          (!type.value || model.type === type.value) &&
          (!needle || model.id.toLowerCase().includes(needle) || model.name.toLowerCase().includes(needle)),
      );
      mount(
        body,
        h('p', { class: 'muted', 'aria-live': 'polite' }, `${shown.length} of ${models.length} models`),
        h(
          'div',
          { class: 'card table-wrap' },
          h(
            'table',
            { class: 'responsive', 'data-testid': 'models' },
            h('caption', { class: 'sr-only' }, 'Models and prices'),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Model', 'Type', 'Provider', 'Price (credits)'].map((label) =>
                  h('th', { scope: 'col' }, label),
                ),
              ),
            ),
            h(
              'tbody',
              null,
              shown.map((model) =>
                h(
                  'tr',
                  null,
                  h(
                    'th',
                    { scope: 'row', 'data-label': 'Model' },
                    h('div', null, model.name),
                    h('code', { class: 'muted' }, model.id),
                  ),
                  h('td', { 'data-label': 'Type' }, h('span', { class: 'tag' }, humanize(model.type))),
                  h('td', { 'data-label': 'Provider' }, model.provider ?? '—'),
                  h('td', { 'data-label': 'Price' }, describePrice(model.pricing, formatCredits)),
                ),
              ),
            ),
          ),
        ),
      );
    };
    type.addEventListener('change', draw);
    search.addEventListener('input', draw);
    draw();
  })();
}

void boot();
