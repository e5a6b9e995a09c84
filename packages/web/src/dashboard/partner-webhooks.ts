/**
 * Partner view → Webhooks: the app's endpoints (add one — its signing secret is shown once —, delete
 * one) and the latest deliveries with their status, each of which can be sent again.
 */
import { EVENT_TYPES } from '../../../server/src/webhooks/events.ts';
import { type Api, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { formatDate, h, isBusy, mount, setBusy, uid } from './dom.ts';
import { type Account, copyButton, failure, head } from './partner-parts.ts';

interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  created_at: string;
}

interface Delivery {
  id: string;
  event: string;
  endpoint: string | null;
  channel: string;
  status: 'pending' | 'succeeded' | 'dead';
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
}

/** The events an endpoint can ask for: the server's own list, bundled in (so a new event shows up here). */
const EVENT_CHOICES = EVENT_TYPES;

const STATUS_LABELS = { pending: 'Pending', succeeded: 'Delivered', dead: 'Failed' } as const;

export function renderWebhooks(main: HTMLElement, api: Api, account: Account): void {
  if (!account.app) {
    mount(
      main,
      head('Webhooks', "An app's webhook endpoints and deliveries."),
      h(
        'p',
        { class: 'notice info', role: 'status' },
        "Sign in with an app's secret key to manage its webhooks.",
      ),
    );
    return;
  }
  const endpoints = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const deliveries = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const created = h('div', { 'aria-live': 'polite' });
  const urlId = uid('hook-url');
  const errorId = uid('hook-error');
  const url = h('input', {
    id: urlId,
    type: 'url',
    required: true,
    placeholder: 'https://your-app.example/tollgate-events',
    'aria-describedby': errorId,
  });
  const all = h('input', { type: 'checkbox', id: uid('hook-all'), checked: true });
  const boxes = EVENT_CHOICES.map((type) =>
    h('input', { type: 'checkbox', id: uid('hook-event'), value: type }),
  );
  const syncBoxes = () => {
    for (const box of boxes) box.disabled = all.checked;
  };
  all.addEventListener('change', syncBoxes);
  syncBoxes();
  const error = h('p', { class: 'field-error', id: errorId });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add endpoint');
  mount(
    main,
    head('Webhooks', 'Tollgate tells your server about purchases, low balances and plans as they happen.'),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'add-hook-heading' },
      h('h2', { id: 'add-hook-heading' }, 'Add an endpoint'),
      h(
        'form',
        {
          novalidate: true,
          onsubmit: async (event: SubmitEvent) => {
            event.preventDefault();
            if (isBusy(add)) return;
            error.textContent = '';
            url.removeAttribute('aria-invalid');
            mount(created);
            const events = all.checked ? ['*'] : boxes.filter((box) => box.checked).map((box) => box.value);
            const show = (message: string, field: HTMLElement) => {
              error.setAttribute('role', 'alert');
              error.textContent = message;
              if (field === url) url.setAttribute('aria-invalid', 'true');
              field.focus();
            };
            if (!/^https?:\/\/\S+$/.test(url.value.trim()))
              return show('Enter the full URL (https://…).', url);
            if (events.length === 0) return show('Choose at least one event.', boxes[0]);
            setBusy(add, true);
            try {
              const endpoint = await api.post<Endpoint & { secret: string }>('/v1/webhook-endpoints', {
                url: url.value.trim(),
                events,
              });
              mount(
                created,
                h(
                  'div',
                  { class: 'notice success', role: 'status' },
                  h('strong', null, 'Endpoint added'),
                  'Copy its signing secret now: it is not shown again. Check each request’s Tollgate-Signature with it.',
                ),
                h(
                  'pre',
                  {
                    class: 'codes mono',
                    tabindex: 0,
                    'aria-label': 'Signing secret',
                    'data-testid': 'hook-secret',
                  },
                  endpoint.secret,
                ),
                h(
                  'div',
                  { class: 'row' },
                  copyButton('Copy secret', () => endpoint.secret),
                ),
              );
              url.value = '';
              await loadEndpoints();
            } catch (failureValue) {
              show(errorMessage(failureValue), url);
            } finally {
              setBusy(add, false);
            }
          },
        },
        h('div', { class: 'field' }, h('label', { for: urlId }, 'Endpoint URL'), url),
        h(
          'fieldset',
          { class: 'field' },
          h('legend', null, 'Events'),
          h('label', { class: 'inline-check', for: all.id }, all, 'All events (including ones added later)'),
          h(
            'div',
            {
              class: 'choices',
              style: 'margin-top:8px;grid-template-columns:repeat(auto-fill,minmax(210px,1fr))',
            },
            boxes.map((box) =>
              h(
                'label',
                { class: 'inline-check', for: box.id, style: 'overflow-wrap:anywhere' },
                box,
                box.value,
              ),
            ),
          ),
        ),
        error,
        h('div', { class: 'row' }, add),
      ),
      created,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'hooks-heading' },
      h('h2', { id: 'hooks-heading' }, 'Endpoints'),
      endpoints,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'deliveries-heading' },
      h(
        'div',
        { class: 'key-status' },
        h('h2', { id: 'deliveries-heading', style: 'margin:0' }, 'Recent deliveries'),
        h('button', { type: 'button', class: 'secondary', onclick: () => void loadDeliveries() }, 'Refresh'),
      ),
      deliveries,
    ),
  );

  async function loadEndpoints(): Promise<void> {
    let list: { data: Endpoint[] };
    try {
      list = await api.get('/v1/webhook-endpoints');
    } catch (failureValue) {
      mount(endpoints, failure(failureValue));
      return;
    }
    if (list.data.length === 0) return mount(endpoints, h('p', { class: 'muted' }, 'No endpoints yet.'));
    mount(
      endpoints,
      h(
        'ul',
        { class: 'plain-list', 'data-testid': 'hook-endpoints' },
        list.data.map((endpoint) =>
          h(
            'li',
            { class: 'key-status', 'data-endpoint': endpoint.id },
            h(
              'span',
              { class: 'cell-stack', style: 'align-items:flex-start;text-align:left' },
              h('code', { class: 'mono', style: 'word-break:break-all' }, endpoint.url),
              h(
                'span',
                { class: 'muted' },
                `${endpoint.events.includes('*') ? 'All events' : endpoint.events.join(', ')} · ${
                  endpoint.enabled ? 'enabled' : 'disabled'
                } · added ${formatDate(endpoint.created_at, false)}`,
              ),
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                'aria-label': `Delete ${endpoint.url}`,
                onclick: async () => {
                  const sure = await confirmDialog({
                    title: 'Delete this endpoint?',
                    message: `${endpoint.url} will receive nothing more; deliveries still owed to it are dropped.`,
                    confirmLabel: 'Delete endpoint',
                    destructive: true,
                  });
                  if (!sure) return;
                  try {
                    await api.delete(`/v1/webhook-endpoints/${encodeURIComponent(endpoint.id)}`);
                    await loadEndpoints();
                    (endpoints.querySelector('button, p') as HTMLElement | null)?.focus();
                  } catch (failureValue) {
                    mount(endpoints, failure(failureValue));
                  }
                },
              },
              'Delete',
            ),
          ),
        ),
      ),
    );
  }

  async function loadDeliveries(): Promise<void> {
    let list: { data: Delivery[] };
    try {
      list = await api.get('/v1/webhook-deliveries?limit=25');
    } catch (failureValue) {
      mount(deliveries, failure(failureValue));
      return;
    }
    const shown = list.data.filter((delivery) => delivery.channel === 'webhook');
    if (shown.length === 0) return mount(deliveries, h('p', { class: 'muted' }, 'No deliveries yet.'));
    mount(
      deliveries,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'responsive', 'data-testid': 'hook-deliveries' },
          h('caption', { class: 'sr-only' }, 'Recent deliveries, newest first'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Created', 'Event', 'Status', 'Attempts', 'Last answer', 'Action'].map((label) =>
                h('th', { scope: 'col' }, label),
              ),
            ),
          ),
          h(
            'tbody',
            null,
            shown.map((delivery) =>
              h(
                'tr',
                { 'data-delivery': delivery.id },
                h('td', { 'data-label': 'Created' }, formatDate(delivery.created_at)),
                h(
                  'td',
                  { 'data-label': 'Event' },
                  h('code', { style: 'word-break:break-all' }, delivery.event),
                ),
                h(
                  'td',
                  { 'data-label': 'Status' },
                  h(
                    'span',
                    { class: `tag ${delivery.status === 'dead' ? 'expired' : ''}` },
                    STATUS_LABELS[delivery.status],
                  ),
                ),
                h('td', { 'data-label': 'Attempts' }, String(delivery.attempt_count)),
                h(
                  'td',
                  { 'data-label': 'Last answer' },
                  delivery.last_status_code !== null
                    ? `HTTP ${delivery.last_status_code}`
                    : (delivery.last_error ?? '—'),
                ),
                h(
                  'td',
                  { 'data-label': 'Action' },
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary',
                      'aria-label': `Send again: delivery ${delivery.id}`,
                      onclick: async (event: Event) => {
                        const button = event.currentTarget as HTMLButtonElement;
                        if (isBusy(button)) return;
                        setBusy(button, true);
                        try {
                          await api.post(`/v1/webhook-deliveries/${encodeURIComponent(delivery.id)}/replay`);
                          await loadDeliveries();
                          (deliveries.querySelector('button') as HTMLElement | null)?.focus();
                        } catch (failureValue) {
                          mount(deliveries, failure(failureValue));
                        }
                      },
                    },
                    'Send again',
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  void loadEndpoints();
  void loadDeliveries();
}
