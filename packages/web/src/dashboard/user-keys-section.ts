/**
 * Settings → "API keys" (the customer's own user keys): the list with each key's limit and what it
 * spent this period, a new key (shown once), a per-key spend limit, revocation. The dashboard session
 * may manage keys; a plain user key may not (the server refuses it).
 */
import { ApiError, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import type { DashboardContext } from './context.ts';
import { formatCredits, formatDate, h, isBusy, mount, setBusy, uid } from './dom.ts';

export interface SpendLimit {
  amount: number;
  period: 'day' | 'week' | 'month' | 'total';
  spent: number;
  resets_at: string | null;
}

export interface UserKey {
  id: string;
  name: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  limit: SpendLimit | null;
}

export const PERIODS = ['day', 'week', 'month', 'total'] as const;

export function limitText(limit: SpendLimit | null): string {
  if (!limit) return 'No limit';
  const resets = limit.resets_at ? ` · resets ${formatDate(limit.resets_at)}` : '';
  return `${formatCredits(limit.spent)} of ${formatCredits(limit.amount)} credits per ${limit.period}${resets}`;
}

export function userKeysSection(context: Pick<DashboardContext, 'api' | 'customerId'>): HTMLElement {
  const path = `/v1/customers/${encodeURIComponent(context.customerId)}/user-keys`;
  const list = h('div', { 'data-testid': 'user-keys-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const created = h('div', { 'aria-live': 'polite', 'data-testid': 'user-key-created' });
  const error = h('p', { class: 'field-error', role: 'alert' });
  const nameId = uid('user-key-name');
  const limitId = uid('user-key-limit');
  const periodId = uid('user-key-period');
  const nameInput = h('input', { id: nameId, name: 'name', maxlength: 100, placeholder: 'e.g. Laptop' });
  const limitInput = h('input', {
    id: limitId,
    name: 'limit',
    inputmode: 'decimal',
    placeholder: 'No limit',
    'data-testid': 'user-key-limit-input',
  });
  const periodSelect = h(
    'select',
    { id: periodId, name: 'period', 'aria-label': 'Limit period' },
    PERIODS.map((period) => h('option', { value: period, selected: period === 'day' }, `per ${period}`)),
  );
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create key');

  async function reload(): Promise<void> {
    try {
      const keys = (await context.api.get<{ data: UserKey[] }>(path)).data;
      mount(list, keys.length === 0 ? h('p', { class: 'muted' }, 'No keys yet.') : keys.map(keyRow));
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 403) {
        // Signed in with a plain user key: keys are managed from the app's dashboard link only.
        form.hidden = true;
        mount(list, h('p', { class: 'muted' }, 'Open your dashboard from the app to manage your keys.'));
        return;
      }
      mount(list, h('div', { class: 'notice error', role: 'alert' }, errorMessage(failure)));
    }
  }

  function keyRow(key: UserKey): HTMLElement {
    const editId = uid('key-limit');
    const edit = h('input', {
      id: editId,
      inputmode: 'decimal',
      value: key.limit ? String(key.limit.amount) : '',
      placeholder: 'No limit',
      'aria-label': `Spend limit of ${key.name}`,
    });
    const editPeriod = h(
      'select',
      { 'aria-label': `Period of ${key.name}'s limit` },
      PERIODS.map((period) =>
        h('option', { value: period, selected: period === (key.limit?.period ?? 'day') }, `per ${period}`),
      ),
    );
    const saveLimit = h('button', { type: 'submit', class: 'secondary' }, 'Save limit');
    return h(
      'div',
      { class: 'card', 'data-testid': 'user-key', 'data-key-id': key.id },
      h('h3', null, key.name, ' ', h('code', null, key.hint)),
      h(
        'p',
        { class: 'muted' },
        `Created ${formatDate(key.created_at)} · last used ${key.last_used_at ? formatDate(key.last_used_at) : 'never'}`,
      ),
      h(
        'p',
        { 'data-testid': 'user-key-limit' },
        key.revoked_at ? `Revoked ${formatDate(key.revoked_at)}` : limitText(key.limit),
      ),
      key.revoked_at
        ? null
        : h(
            'form',
            {
              class: 'row',
              novalidate: true,
              onsubmit: async (event: SubmitEvent) => {
                event.preventDefault();
                if (isBusy(saveLimit)) return;
                const amount = edit.value.trim();
                setBusy(saveLimit, true);
                try {
                  await context.api.patch(`${path}/${encodeURIComponent(key.id)}`, {
                    limit: amount === '' ? null : { amount, period: editPeriod.value },
                  });
                  await reload();
                } catch (failure) {
                  error.textContent = errorMessage(failure);
                  setBusy(saveLimit, false);
                }
              },
            },
            edit,
            editPeriod,
            saveLimit,
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: async () => {
                  const confirmed = await confirmDialog({
                    title: `Revoke "${key.name}"?`,
                    message: 'Anything using this key stops working at once.',
                    confirmLabel: 'Revoke key',
                    destructive: true,
                  });
                  if (!confirmed) return;
                  try {
                    await context.api.delete(`${path}/${encodeURIComponent(key.id)}`);
                    await reload();
                  } catch (failure) {
                    error.textContent = errorMessage(failure);
                  }
                },
              },
              'Revoke',
            ),
          ),
    );
  }

  const form = h(
    'form',
    {
      novalidate: true,
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        error.textContent = '';
        if (isBusy(create)) return;
        const amount = limitInput.value.trim();
        setBusy(create, true);
        try {
          const key = await context.api.post<UserKey & { user_key: string }>(path, {
            ...(nameInput.value.trim() ? { name: nameInput.value.trim() } : {}),
            ...(amount ? { limit: { amount, period: periodSelect.value } } : {}),
          });
          mount(
            created,
            h(
              'div',
              { class: 'notice' },
              h('p', null, `Your new key "${key.name}" — copy it now, it is not shown again:`),
              h('code', { 'data-testid': 'user-key-secret' }, key.user_key),
            ),
          );
          nameInput.value = '';
          limitInput.value = '';
          await reload();
        } catch (failure) {
          error.textContent = errorMessage(failure);
        } finally {
          setBusy(create, false);
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: nameId }, 'Name'), nameInput),
    h(
      'div',
      { class: 'field' },
      h('label', { for: limitId }, 'Spend limit (credits, optional)'),
      h('div', { class: 'row' }, limitInput, periodSelect),
    ),
    error,
    h('div', { class: 'row' }, create),
  );
  void reload();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'user-keys-heading', 'data-testid': 'user-keys' },
    h('h2', { id: 'user-keys-heading' }, 'API keys'),
    h(
      'p',
      { class: 'muted' },
      'Keys for your scripts and tools, each with its own name and optional spend limit (UTC days, weeks from Monday, months). Past its limit a key is refused until the limit resets.',
    ),
    form,
    created,
    list,
  );
}
