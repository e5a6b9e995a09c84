/**
 * A purchase's receipt at #/receipts/<id>: what was paid, in which currency, the credits it bought
 * (bonus included), any refund; printable (the header and buttons are left off the printout).
 */
import { formatPaid } from '../amounts.ts';
import { errorMessage } from './api.ts';
import type { DashboardContext } from './context.ts';
import { formatCredits, formatDate, h, humanize, mount } from './dom.ts';

interface Receipt {
  id: string;
  app: { id: string; name: string } | null;
  status: string;
  amount_paid_cents: number;
  refunded_cents: number;
  currency: string;
  credits: number;
  bonus_credits: number;
  pack: string | null;
  paid_at: string | null;
  created_at: string;
}

export async function renderReceiptPage(
  main: HTMLElement,
  context: DashboardContext,
  receiptId: string,
): Promise<void> {
  const back = h(
    'a',
    { href: '#/credits/transactions', class: 'no-print', 'data-testid': 'receipt-back' },
    '← Back to transactions',
  );
  mount(main, back, h('h1', { tabindex: -1 }, 'Receipt'), h('p', { class: 'muted' }, 'Loading the receipt…'));
  let receipt: Receipt;
  try {
    receipt = await context.api.get(
      `/v1/customers/${encodeURIComponent(context.customerId)}/receipts/${encodeURIComponent(receiptId)}`,
    );
  } catch (error) {
    mount(
      main,
      back,
      h('h1', { tabindex: -1 }, 'Receipt'),
      h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)),
    );
    return;
  }
  const row = (label: string, value: string, testid?: string) => [
    h('dt', null, label),
    h('dd', testid ? { 'data-testid': testid } : null, value),
  ];
  mount(
    main,
    back,
    h(
      'article',
      { class: 'card receipt', 'aria-labelledby': 'receipt-heading', 'data-testid': 'receipt' },
      h(
        'h1',
        { id: 'receipt-heading', tabindex: -1 },
        `Receipt${receipt.app ? ` — ${receipt.app.name}` : ''}`,
      ),
      h('p', { class: 'muted' }, 'Credit purchase'),
      h(
        'dl',
        null,
        row('Receipt number', receipt.id),
        row('Paid on', formatDate(receipt.paid_at ?? receipt.created_at)),
        row('Amount paid', formatPaid(receipt.amount_paid_cents, receipt.currency), 'receipt-paid'),
        row('Credits', `${formatCredits(receipt.credits)} credits`, 'receipt-credits'),
        receipt.bonus_credits > 0
          ? row('Of which bonus', `${formatCredits(receipt.bonus_credits)} credits`)
          : null,
        receipt.pack ? row('Pack', receipt.pack) : null,
        receipt.refunded_cents > 0
          ? row('Refunded', formatPaid(receipt.refunded_cents, receipt.currency))
          : null,
        row('Status', humanize(receipt.status)),
      ),
      h(
        'div',
        { class: 'actions no-print' },
        h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print'),
      ),
    ),
  );
}
