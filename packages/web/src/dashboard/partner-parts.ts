/** Pieces every page of the partner view shares: the page heading, a failed request, friendly customer names, copying. */
import { errorMessage } from './api.ts';
import { type Child, h } from './dom.ts';

export const head = (title: string, description: string) =>
  h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, title), h('p', { class: 'muted' }, description));

export const failure = (error: unknown) =>
  h('div', { class: 'notice error', role: 'alert' }, errorMessage(error));

/** The external id prefixes the widget gives the customers it creates (server: customers/signup-bonus.ts). */
const WIDGET_GUEST = 'widget:';
const WIDGET_EMAIL = 'email:';

export interface CustomerNames {
  id: string;
  external_id?: string | null;
  email?: string | null;
}

/**
 * What to call a customer: the app's own id, or for the customers the widget made (a guest's random
 * `widget:…`, a signed-in buyer's `email:…`) "Widget buyer · <email or short id>".
 */
export function customerLabel(customer: CustomerNames): string {
  const external = customer.external_id ?? null;
  if (external?.startsWith(WIDGET_EMAIL))
    return `Widget buyer · ${customer.email ?? external.slice(WIDGET_EMAIL.length)}`;
  if (external?.startsWith(WIDGET_GUEST))
    return `Widget buyer · ${customer.email ?? external.slice(WIDGET_GUEST.length, WIDGET_GUEST.length + 8)}`;
  return external ?? customer.id;
}

/** A "Copy" button for `text`; says "Copied" (announced) once it worked. */
export function copyButton(label: string, text: () => string, testId?: string): HTMLButtonElement {
  const status = h('span', { class: 'sr-only', 'aria-live': 'polite' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'data-testid': testId,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text());
          button.firstChild!.textContent = 'Copied';
          status.textContent = 'Copied to the clipboard';
        } catch {
          status.textContent = 'Could not copy: select the text and copy it yourself';
        }
      },
    },
    h('span', null, label),
    status,
  );
  return button;
}

/** Who the partner view is signed in as (`GET /v1/partner/account`). */
export interface Account {
  kind: 'app' | 'admin';
  app: {
    id: string;
    name: string;
    referral_rate: number;
    referral_rate_max?: number;
    /** Null for apps created before the key was kept. */
    publishable_key?: string | null;
  } | null;
}

/** 0.125 → "12.5%" (rates are exact decimals with at most six places). */
export function formatRate(rate: number): string {
  return `${Number((rate * 100).toFixed(4))}%`;
}

/**
 * A table that turns into labelled rows on a phone (`table.responsive`): one header per column, each
 * cell labelled with its column's name. `numeric` columns align right.
 */
export function dataTable(options: {
  caption: string;
  columns: { label: string; numeric?: boolean }[];
  rows: Child[][];
  testId?: string;
}): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'responsive', 'data-testid': options.testId },
      h('caption', { class: 'sr-only' }, options.caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          options.columns.map((column) =>
            h('th', { scope: 'col', class: column.numeric ? 'num' : null }, column.label),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        options.rows.map((cells) =>
          h(
            'tr',
            null,
            cells.map((cell, index) => {
              const column = options.columns[index];
              return h(
                'td',
                { 'data-label': column?.label ?? '', class: column?.numeric ? 'num' : null },
                cell,
              );
            }),
          ),
        ),
      ),
    ),
  );
}

/**
 * A titled card of the partner's customer page: a section labelled by its heading, with an optional
 * line saying what it does, then its contents.
 */
export function card(
  options: { id: string; title: string; intro?: string; testId?: string },
  ...children: Child[]
): HTMLElement {
  const headingId = `${options.id}-heading`;
  return h(
    'section',
    {
      class: 'card',
      'aria-labelledby': headingId,
      ...(options.testId ? { 'data-testid': options.testId } : {}),
    },
    h('h2', { id: headingId }, options.title),
    options.intro ? h('p', { class: 'muted' }, options.intro) : null,
    ...children,
  );
}
