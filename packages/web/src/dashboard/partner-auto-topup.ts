/**
 * Partner view → one customer → "Auto top-up": the setting (threshold in credits, amount and monthly cap
 * in dollars, this month's spend, the saved card, failures), a form to set it, turning it off, saving a
 * card (test mode: a simulated card at once; with Stripe: a setup link to hand the customer) and the
 * recent payments.
 */
import type { AutoTopupAttempt as Attempt, AutoTopup } from '../../../client/src/auto-topup.ts';
import { type Api, ApiError, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { formatCredits, formatDate, formatUsd, h, humanize, isBusy, mount, setBusy, uid } from './dom.ts';
import { card, copyButton, dataTable, failure } from './partner-parts.ts';

/** A positive decimal typed by a person ("12,5" too), or null. */
function positive(text: string): string | null {
  const value = text.trim().replace(',', '.');
  return /^\d+(\.\d+)?$/.test(value) && Number(value) > 0 ? value : null;
}

export function autoTopupSection(api: Api, customerPath: string): HTMLElement {
  const path = `${customerPath}/auto-topup`;
  const summary = h('div', { 'data-testid': 'auto-topup-setting' }, h('p', { class: 'muted' }, 'Loading…'));
  const attempts = h('div', { 'data-testid': 'auto-topup-attempts' });
  const status = h('div', { 'aria-live': 'polite' });
  const cardActions = h('div', { class: 'row', style: 'margin:12px 0' });
  const errorId = uid('topup-error');
  const ids = { threshold: uid('topup-threshold'), amount: uid('topup-amount'), cap: uid('topup-cap') };
  const input = (id: string) =>
    h('input', { id, inputmode: 'decimal', required: true, 'aria-describedby': errorId });
  const threshold = input(ids.threshold);
  const amount = input(ids.amount);
  const cap = input(ids.cap);
  const error = h('p', { class: 'field-error', id: errorId });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save auto top-up');

  const notice = (kind: 'success' | 'error', text: string, testId?: string) =>
    mount(
      status,
      h(
        'div',
        { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': testId },
        text,
      ),
    );

  function draw(setting: AutoTopup | null): void {
    if (!setting) {
      mount(summary, h('p', { class: 'muted' }, 'Off: no auto top-up is set.'));
      mount(cardActions);
      return;
    }
    threshold.value = String(setting.threshold);
    amount.value = String(setting.amount_usd);
    cap.value = String(setting.monthly_cap_usd);
    const state = setting.enabled
      ? setting.payment_method
        ? 'On'
        : 'Waiting for a card'
      : `Off${setting.disabled_reason ? ` — ${setting.disabled_reason}` : ''}`;
    const rows: [string, string][] = [
      ['Status', state],
      ['Below', `${formatCredits(setting.threshold)} credits available`],
      ['Buys', formatUsd(setting.amount_usd)],
      [
        'This month',
        `${formatUsd(setting.spent_this_month_usd)} of ${formatUsd(setting.monthly_cap_usd)} at most`,
      ],
      ['Card', setting.payment_method ?? 'None saved'],
      ['Failed in a row', String(setting.failures)],
    ];
    mount(
      summary,
      h(
        'dl',
        { class: 'breakdown' },
        rows.map(([term, value]) => [h('dt', null, term), h('dd', null, value)]),
      ),
    );
    mount(cardActions, setting.provider === 'test' ? testCardButton() : setupLinkButton(), removeButton());
  }

  function testCardButton(): HTMLElement {
    const button = h('button', { type: 'button', class: 'secondary' }, 'Save a test card');
    button.addEventListener('click', async () => {
      if (isBusy(button)) return;
      setBusy(button, true);
      try {
        await api.post(`${path}/setup`, { test_card: 'succeeds' });
        notice('success', 'Test card saved: top-ups are paid by the simulated card.', 'test-card-saved');
        await reload();
      } catch (failureValue) {
        notice('error', errorMessage(failureValue));
      } finally {
        setBusy(button, false);
      }
    });
    return button;
  }

  /** With Stripe, the card is saved by the customer on Stripe's page: a link to hand them. */
  function setupLinkButton(): HTMLElement {
    const button = h('button', { type: 'button', class: 'secondary' }, 'Create card setup link');
    button.addEventListener('click', async () => {
      if (isBusy(button)) return;
      setBusy(button, true);
      try {
        const setup = await api.post<{ url: string | null }>(`${path}/setup`, {});
        const url = setup.url ?? '';
        const urlId = uid('topup-setup-url');
        mount(
          status,
          h(
            'div',
            { class: 'field' },
            h('label', { for: urlId }, 'Card setup link for the customer'),
            h('input', { id: urlId, readonly: true, value: url }),
          ),
          copyButton('Copy link', () => url),
        );
      } catch (failureValue) {
        notice('error', errorMessage(failureValue));
      } finally {
        setBusy(button, false);
      }
    });
    return button;
  }

  function removeButton(): HTMLElement {
    return h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          const confirmed = await confirmDialog({
            title: 'Turn auto top-up off?',
            message: 'No more top-ups are bought. A payment already under way still grants its credits.',
            confirmLabel: 'Turn off',
            destructive: true,
          });
          if (!confirmed) return;
          try {
            await api.delete(path);
            notice('success', 'Auto top-up is off.', 'auto-topup-removed');
            await reload();
          } catch (failureValue) {
            notice('error', errorMessage(failureValue));
          }
        },
      },
      'Turn off',
    );
  }

  async function reload(): Promise<void> {
    try {
      draw(await api.get<AutoTopup>(path));
    } catch (failureValue) {
      if (failureValue instanceof ApiError && failureValue.code === 'not_found') draw(null);
      else mount(summary, failure(failureValue));
    }
    try {
      const page = await api.get<{ data: Attempt[] }>(`${path}/attempts?limit=10`);
      mount(
        attempts,
        page.data.length === 0
          ? h('p', { class: 'muted' }, 'No top-up payments yet.')
          : dataTable({
              caption: 'Recent top-up payments, newest first',
              columns: [
                { label: 'Date' },
                { label: 'Status' },
                { label: 'Paid', numeric: true },
                { label: 'Credits', numeric: true },
                { label: 'Failure' },
              ],
              rows: page.data.map((attempt) => [
                formatDate(attempt.created_at),
                h('span', { class: 'tag' }, humanize(attempt.status)),
                formatUsd(attempt.amount_usd),
                formatCredits(attempt.credits),
                attempt.failure_message ?? '—',
              ]),
            }),
      );
    } catch (failureValue) {
      mount(attempts, failure(failureValue));
    }
  }

  const form = h(
    'form',
    {
      novalidate: true,
      style: 'margin-top:16px',
      'data-testid': 'auto-topup-form',
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        if (isBusy(save)) return;
        error.textContent = '';
        mount(status);
        const show = (message: string, field: HTMLElement) => {
          error.setAttribute('role', 'alert');
          error.textContent = message;
          field.focus();
        };
        const values = {
          threshold: positive(threshold.value),
          amount: positive(amount.value),
          cap: positive(cap.value),
        };
        if (!values.threshold)
          return show('Enter the balance, in credits, below which to top up.', threshold);
        if (!values.amount) return show('Enter how many dollars each top-up buys.', amount);
        if (!values.cap) return show('Enter the most to spend in a month, in dollars.', cap);
        setBusy(save, true);
        try {
          await api.put(path, {
            threshold: values.threshold,
            amount_usd: values.amount,
            monthly_cap_usd: values.cap,
          });
          notice('success', 'Auto top-up saved.', 'auto-topup-saved');
          await reload();
        } catch (failureValue) {
          show(errorMessage(failureValue), threshold);
        } finally {
          setBusy(save, false);
        }
      },
    },
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: ids.threshold }, 'Threshold (credits)'), threshold),
      h('div', { class: 'field' }, h('label', { for: ids.amount }, 'Amount ($)'), amount),
      h('div', { class: 'field' }, h('label', { for: ids.cap }, 'Monthly cap ($)'), cap),
    ),
    error,
    h('div', { class: 'row' }, save),
  );

  void reload();
  return card(
    {
      id: 'auto-topup',
      title: 'Auto top-up',
      testId: 'auto-topup',
      intro:
        "When the customer's available credits fall below the threshold, the amount is bought with their saved card, at most the monthly cap a month.",
    },
    summary,
    form,
    cardActions,
    status,
    h('h3', null, 'Recent payments'),
    attempts,
  );
}
