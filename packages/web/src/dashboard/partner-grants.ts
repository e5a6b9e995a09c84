/**
 * Partner view → one customer → "Grants": the customer's live grants in spend order (then the scheduled
 * ones) with what remains, what open holds reserve, priority, scope and expiry; a live grant's
 * unreserved remainder can be voided, a scheduled grant cancelled (both after a confirmation).
 */
import { type Api, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { formatCredits, formatDate, h, humanize, mount } from './dom.ts';
import { card, dataTable, failure } from './partner-parts.ts';

export interface Grant {
  id: string;
  status: 'active' | 'scheduled' | 'voided';
  source: string;
  category: 'paid' | 'promotional';
  priority: number;
  amount: number;
  remaining: number;
  reserved: number;
  available: number;
  scope: { types?: string[]; models?: string[] } | null;
  effective_at: string | null;
  expires_at: string | null;
}

function scopeText(scope: Grant['scope']): string {
  const parts = [...(scope?.types ?? []), ...(scope?.models ?? [])];
  return parts.length === 0 ? 'Anything' : parts.join(', ');
}

function statusText(grant: Grant): string {
  if (grant.status === 'scheduled') return `Scheduled for ${formatDate(grant.effective_at)}`;
  return humanize(grant.status);
}

/** The section and a `reload()` for when something else (a new grant) changed the list. */
export function grantsSection(
  api: Api,
  customerPath: string,
  onVoided: () => Promise<void>,
): { element: HTMLElement; reload: () => Promise<void> } {
  const list = h('div', { 'data-testid': 'grants-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const status = h('div', { 'aria-live': 'polite' });

  async function reload(): Promise<void> {
    let page: { data: Grant[] };
    try {
      page = await api.get(`${customerPath}/grants`);
    } catch (error) {
      mount(list, failure(error));
      return;
    }
    if (page.data.length === 0) return mount(list, h('p', { class: 'muted' }, 'No live grants.'));
    mount(
      list,
      dataTable({
        caption: 'Grants in the order they are spent',
        testId: 'grants',
        columns: [
          { label: 'Granted', numeric: true },
          { label: 'Remaining', numeric: true },
          { label: 'Reserved', numeric: true },
          { label: 'Source' },
          { label: 'Priority', numeric: true },
          { label: 'Scope' },
          { label: 'Expires' },
          { label: 'Status' },
          { label: 'Action' },
        ],
        rows: page.data.map((grant) => [
          formatCredits(grant.amount),
          formatCredits(grant.remaining),
          formatCredits(grant.reserved),
          `${humanize(grant.source)} · ${grant.category}`,
          String(grant.priority),
          scopeText(grant.scope),
          grant.expires_at ? formatDate(grant.expires_at) : 'Never',
          h('span', { class: 'tag', 'data-testid': 'grant-status' }, statusText(grant)),
          voidButton(grant),
        ]),
      }),
    );
  }

  function voidButton(grant: Grant): HTMLElement | string {
    const scheduled = grant.status === 'scheduled';
    if (grant.status === 'voided' || (!scheduled && grant.available <= 0)) return '—';
    const label = scheduled ? 'Cancel grant' : 'Void remainder';
    return h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-label': `${label}: grant ${grant.id}`,
        onclick: async () => {
          const confirmed = await confirmDialog({
            title: scheduled ? 'Cancel this scheduled grant?' : "Void this grant's remainder?",
            message: scheduled
              ? `${formatCredits(grant.amount)} credits will never be granted.`
              : `${formatCredits(grant.available)} credits are written off now.${grant.reserved > 0 ? ` The ${formatCredits(grant.reserved)} credits open holds reserve stay theirs.` : ''}`,
            confirmLabel: label,
            destructive: true,
          });
          if (!confirmed) return;
          mount(status);
          try {
            await api.post(`/v1/grants/${encodeURIComponent(grant.id)}/void`, {}, { idempotent: true });
            mount(
              status,
              h(
                'p',
                { class: 'notice success', role: 'status', 'data-testid': 'grant-voided' },
                scheduled ? 'Grant cancelled.' : `${formatCredits(grant.available)} credits voided.`,
              ),
            );
            await onVoided();
          } catch (error) {
            mount(status, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
          }
        },
      },
      label,
    );
  }

  void reload();
  return {
    reload,
    element: card(
      {
        id: 'grants',
        title: 'Grants',
        testId: 'grants-section',
        intro:
          'Spent in this order: lowest priority number first, then the soonest to expire. Voiding writes off what is left of a grant; what open holds reserve stays theirs.',
      },
      status,
      list,
    ),
  };
}
