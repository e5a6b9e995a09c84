/**
 * Partner view → an organisation customer → "Members": who spends the organisation's balance, each
 * with their keys (masked), limit and what they spent; add a member (their first user key shown once)
 * with an optional limit; remove one (their keys are revoked with them).
 */
import { type Api, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { formatCredits, h, isBusy, mount, setBusy, uid } from './dom.ts';
import { card, dataTable, failure } from './partner-parts.ts';
import { limitText, PERIODS, type SpendLimit, type UserKey } from './user-keys-section.ts';

interface Member {
  id: string;
  external_id: string;
  limit: SpendLimit | null;
  spent: number;
  user_keys: UserKey[];
}

export function membersSection(api: Api, customerPath: string): HTMLElement {
  const path = `${customerPath}/members`;
  const list = h('div', { 'data-testid': 'members-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'member-status' });
  const ids = { external: uid('member-external'), limit: uid('member-limit') };
  const errorId = uid('member-error');
  const external = h('input', {
    id: ids.external,
    maxlength: 200,
    required: true,
    'aria-describedby': errorId,
  });
  const limit = h('input', { id: ids.limit, inputmode: 'decimal', placeholder: 'No limit' });
  const period = h(
    'select',
    { 'aria-label': 'Limit period' },
    PERIODS.map((value) => h('option', { value, selected: value === 'month' }, `per ${value}`)),
  );
  const error = h('p', { class: 'field-error', id: errorId });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add member');

  async function reload(): Promise<void> {
    let page: { data: Member[] };
    try {
      page = await api.get(path);
    } catch (failureValue) {
      mount(list, failure(failureValue));
      return;
    }
    if (page.data.length === 0) return mount(list, h('p', { class: 'muted' }, 'No members yet.'));
    mount(
      list,
      dataTable({
        caption: "The organisation's members",
        testId: 'members',
        columns: [
          { label: 'Member' },
          { label: 'Keys' },
          { label: 'Limit' },
          { label: 'Spent', numeric: true },
          { label: 'Action' },
        ],
        rows: page.data.map((member) => [
          member.external_id,
          member.user_keys.length === 0
            ? 'None'
            : member.user_keys.map((key) => h('div', null, `${key.name} `, h('code', null, key.hint))),
          limitText(member.limit),
          formatCredits(member.spent),
          removeButton(member),
        ]),
      }),
    );
  }

  function removeButton(member: Member): HTMLElement {
    return h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-label': `Remove ${member.external_id}`,
        onclick: async () => {
          const confirmed = await confirmDialog({
            title: `Remove ${member.external_id}?`,
            message: 'Their keys are revoked at once; what they spent stays in the history.',
            confirmLabel: 'Remove member',
            destructive: true,
          });
          if (!confirmed) return;
          try {
            await api.delete(`${path}/${encodeURIComponent(member.id)}`);
            mount(
              status,
              h('p', { class: 'notice success', role: 'status' }, `${member.external_id} removed.`),
            );
            await reload();
          } catch (failureValue) {
            mount(status, h('div', { class: 'notice error', role: 'alert' }, errorMessage(failureValue)));
          }
        },
      },
      'Remove',
    );
  }

  const form = h(
    'form',
    {
      novalidate: true,
      'data-testid': 'member-form',
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        if (isBusy(add)) return;
        error.textContent = '';
        mount(status);
        const show = (message: string, field: HTMLElement) => {
          error.setAttribute('role', 'alert');
          error.textContent = message;
          field.focus();
        };
        const externalId = external.value.trim();
        const amount = limit.value.trim().replace(',', '.');
        if (!externalId) return show("Enter the member's id in your app.", external);
        if (amount && !(Number(amount) >= 0))
          return show('Enter the limit in credits, or leave it empty.', limit);
        setBusy(add, true);
        try {
          const added = await api.post<Member & { user_key: string }>(
            path,
            { external_id: externalId, ...(amount ? { limit: { amount, period: period.value } } : {}) },
            { idempotent: true },
          );
          mount(
            status,
            h(
              'div',
              { class: 'notice' },
              h('p', null, `${added.external_id}'s user key — copy it now, it is not shown again:`),
              h('code', { 'data-testid': 'member-key' }, added.user_key),
            ),
          );
          external.value = '';
          limit.value = '';
          await reload();
        } catch (failureValue) {
          show(errorMessage(failureValue), external);
        } finally {
          setBusy(add, false);
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: ids.external }, 'Member id'), external),
    h(
      'div',
      { class: 'field' },
      h('label', { for: ids.limit }, 'Spend limit (credits, optional)'),
      h('div', { class: 'row' }, limit, period),
    ),
    error,
    h('div', { class: 'row' }, add),
  );

  void reload();
  return card(
    {
      id: 'members',
      title: 'Members',
      testId: 'members-section',
      intro: "Members spend this organisation's balance with their own keys, each within an optional limit.",
    },
    form,
    status,
    list,
  );
}
