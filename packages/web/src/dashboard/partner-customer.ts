/**
 * Partner view → one customer (`#/customers/<id>`): balances, credits granted with a reason, a
 * dashboard sign-in link to hand them, their grants (void a remainder), auto top-up, an
 * organisation's members, their user keys (list, create, limit, revoke) and their transactions.
 */
import { type Api, errorMessage } from './api.ts';
import {
  formatCredits,
  formatDate,
  formatSignedCredits,
  h,
  humanize,
  isBusy,
  mount,
  setBusy,
  uid,
} from './dom.ts';
import { autoTopupSection } from './partner-auto-topup.ts';
import { grantsSection } from './partner-grants.ts';
import { membersSection } from './partner-members.ts';
import { card, copyButton, customerLabel, failure, head } from './partner-parts.ts';
import { userKeysSection } from './user-keys-section.ts';

interface Customer {
  id: string;
  external_id: string | null;
  type?: 'individual' | 'organization';
  email: string | null;
  created_at: string;
  balance: number;
  available: number;
  pending: number;
}

interface Transaction {
  id: string;
  type: string;
  amount: number;
  balance_after: number;
  model: string | null;
  source: string | null;
  description: string | null;
  created_at: string;
}

const GRANT_SOURCES = [
  { value: 'promo', label: 'Promotion' },
  { value: 'gift', label: 'Gift' },
  { value: 'adjustment', label: 'Adjustment (may be negative)' },
] as const;

export function renderCustomer(main: HTMLElement, api: Api, customerId: string): void {
  const path = `/v1/customers/${encodeURIComponent(customerId)}`;
  mount(main, head('Customer', 'Loading…'));
  void (async () => {
    let customer: Customer;
    try {
      customer = await api.get<Customer>(path);
    } catch (error) {
      mount(main, head('Customer', 'This customer could not be shown.'), failure(error), backLink());
      return;
    }
    const balances = h('div', { class: 'stats' });
    const transactions = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
    const drawBalances = (current: Customer) =>
      mount(
        balances,
        stat('Balance', formatCredits(current.balance), 'customer-balance'),
        stat('Available', formatCredits(current.available), 'customer-available'),
        stat('Reserved', formatCredits(current.pending)),
      );
    drawBalances(customer);
    const refresh = async () => {
      drawBalances(await api.get<Customer>(path));
      await Promise.all([loadTransactions(), grants.reload()]);
    };
    const grants = grantsSection(api, path, refresh);
    mount(
      main,
      backLink(),
      head(
        customerLabel(customer),
        `${customer.email ?? 'No email'} · ${customer.id} · customer since ${formatDate(customer.created_at, false)}`,
      ),
      balances,
      h('div', { class: 'grid' }, grantCard(api, path, refresh), portalCard(api, path)),
      grants.element,
      autoTopupSection(api, path),
      customer.type === 'organization' ? membersSection(api, path) : null,
      userKeysSection({ api, customerId: customer.id }),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'transactions-heading' },
        h('h2', { id: 'transactions-heading' }, 'Transactions'),
        transactions,
      ),
    );
    document.title = `${customerLabel(customer)} — Partner — Tollgate`;
    // The heading was replaced after loading: focus follows it unless the person already moved on.
    if (!main.contains(document.activeElement) || document.activeElement === main)
      (main.querySelector('h1') as HTMLElement | null)?.focus();

    async function loadTransactions(): Promise<void> {
      let page: { data: Transaction[] };
      try {
        page = await api.get(`${path}/transactions?limit=50`);
      } catch (error) {
        mount(transactions, failure(error));
        return;
      }
      if (page.data.length === 0)
        return mount(transactions, h('p', { class: 'muted' }, 'No transactions yet.'));
      mount(
        transactions,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'responsive', 'data-testid': 'customer-transactions' },
            h('caption', { class: 'sr-only' }, 'Transactions, newest first'),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Date', 'Type', 'Details', 'Amount', 'Balance after'].map((label, index) =>
                  h('th', { scope: 'col', class: index >= 3 ? 'num' : null }, label),
                ),
              ),
            ),
            h(
              'tbody',
              null,
              page.data.map((row) =>
                h(
                  'tr',
                  null,
                  h('td', { 'data-label': 'Date' }, formatDate(row.created_at)),
                  h('td', { 'data-label': 'Type' }, h('span', { class: 'tag' }, humanize(row.type))),
                  h(
                    'td',
                    { 'data-label': 'Details' },
                    [row.source ? humanize(row.source) : null, row.model, row.description]
                      .filter(Boolean)
                      .join(' · ') || '—',
                  ),
                  h(
                    'td',
                    { 'data-label': 'Amount', class: `num ${row.amount > 0 ? 'pos' : 'neg'}` },
                    formatSignedCredits(row.amount),
                  ),
                  h('td', { 'data-label': 'Balance after', class: 'num' }, formatCredits(row.balance_after)),
                ),
              ),
            ),
          ),
        ),
      );
    }
    void loadTransactions();
  })();
}

const backLink = () => h('p', null, h('a', { href: '#/customers' }, '← All customers'));

const stat = (label: string, value: string, testId?: string) =>
  h(
    'div',
    { class: 'stat' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value', 'data-testid': testId }, value),
  );

function grantCard(api: Api, path: string, refresh: () => Promise<void>): HTMLElement {
  const ids = { amount: uid('grant-amount'), source: uid('grant-source'), reason: uid('grant-reason') };
  const errorId = uid('grant-error');
  const amount = h('input', {
    id: ids.amount,
    inputmode: 'decimal',
    required: true,
    'aria-describedby': errorId,
  });
  const source = h(
    'select',
    { id: ids.source },
    GRANT_SOURCES.map((option) => h('option', { value: option.value }, option.label)),
  );
  const reason = h('input', {
    id: ids.reason,
    maxlength: 500,
    required: true,
    placeholder: 'e.g. Refund for a failed render',
  });
  const error = h('p', { class: 'field-error', id: errorId });
  const done = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Grant credits');
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'grant-heading' },
    h('h2', { id: 'grant-heading' }, 'Grant credits'),
    h(
      'form',
      {
        novalidate: true,
        'data-testid': 'grant-form',
        onsubmit: async (event: SubmitEvent) => {
          event.preventDefault();
          if (isBusy(submit)) return;
          error.textContent = '';
          mount(done);
          const value = Number(amount.value.trim().replace(',', '.'));
          const show = (message: string, field: HTMLElement) => {
            error.setAttribute('role', 'alert');
            error.textContent = message;
            field.focus();
          };
          if (!Number.isFinite(value) || value === 0 || amount.value.trim() === '')
            return show('Enter how many credits to grant.', amount);
          if (value < 0 && source.value !== 'adjustment')
            return show('Only an adjustment takes credits away.', amount);
          if (!reason.value.trim()) return show('Say why: the customer sees it in their history.', reason);
          setBusy(submit, true);
          try {
            await api.post(
              `${path}/grants`,
              {
                amount: amount.value.trim().replace(',', '.'),
                source: source.value,
                reason: reason.value.trim(),
              },
              { idempotent: true },
            );
            mount(
              done,
              h(
                'p',
                { class: 'notice success', role: 'status', 'data-testid': 'grant-done' },
                `${formatSignedCredits(value)} credits recorded.`,
              ),
            );
            amount.value = '';
            reason.value = '';
            await refresh();
          } catch (failureValue) {
            show(errorMessage(failureValue), amount);
          } finally {
            setBusy(submit, false);
          }
        },
      },
      h('div', { class: 'field' }, h('label', { for: ids.amount }, 'Credits'), amount),
      h('div', { class: 'field' }, h('label', { for: ids.source }, 'Kind'), source),
      h('div', { class: 'field' }, h('label', { for: ids.reason }, 'Reason'), reason),
      error,
      h('div', { class: 'row' }, submit),
    ),
    done,
  );
}

function portalCard(api: Api, path: string): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const create = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': 'portal-link' },
    'Create sign-in link',
  );
  create.addEventListener('click', async () => {
    if (isBusy(create)) return;
    setBusy(create, true);
    try {
      const link = await api.post<{ url: string; expires_at?: string }>(`${path}/portal-links`);
      const inputId = uid('portal-url');
      mount(
        result,
        h(
          'div',
          { class: 'field', style: 'margin-top:12px' },
          h('label', { for: inputId }, 'Sign-in link'),
          h('input', { id: inputId, readonly: true, value: link.url, 'data-testid': 'portal-url' }),
          h(
            'p',
            { class: 'hint' },
            `Works once${link.expires_at ? `, until ${formatDate(link.expires_at)}` : ''}. Anyone with it is signed in as this customer.`,
          ),
        ),
        h(
          'div',
          { class: 'row' },
          copyButton('Copy link', () => link.url),
        ),
      );
    } catch (error) {
      mount(result, failure(error));
    } finally {
      setBusy(create, false);
    }
  });
  return card(
    {
      id: 'portal',
      title: 'Dashboard link',
      intro: 'A one-time link that signs this customer in to their dashboard (balance, purchases, keys).',
    },
    create,
    result,
  );
}
