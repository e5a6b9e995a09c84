/**
 * Settings → API Keys (seed 000): the customer's own Fal.ai and OpenRouter keys — add, replace,
 * remove, shown masked — and "Connect via OpenRouter".
 */
import { ApiError, errorMessage } from './api.ts';
import { confirmDialog } from './confirm-dialog.ts';
import type { DashboardContext } from './context.ts';
import { formatDate, h, isBusy, mount, setBusy, uid } from './dom.ts';
import { noticeElement } from './page-credits.ts';
import { userKeysSection } from './user-keys-section.ts';

interface ProviderKey {
  provider: string;
  masked_key: string;
  created_at: string;
  updated_at: string;
}

const PROVIDERS = [
  {
    id: 'fal',
    name: 'Fal.ai',
    use: 'Used for image, video and music generation — Fal.ai runs all the media models.',
    placeholder: 'Paste your Fal.ai key',
  },
  {
    id: 'openrouter',
    name: 'OpenRouter',
    use: 'Used for language models (script analysis). Paste a key, or connect your OpenRouter account.',
    placeholder: 'sk-or-…',
  },
] as const;

export async function renderSettingsPage(main: HTMLElement, context: DashboardContext): Promise<void> {
  const notice = context.takeNotice('settings');
  const list = h('div', { class: 'grid' }, h('p', { class: 'muted' }, 'Loading your keys…'));
  mount(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Settings'),
      h('p', { class: 'muted' }, 'Settings → API Keys'),
    ),
    noticeElement(notice),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'byok-heading' },
      h('h2', { id: 'byok-heading' }, 'API keys: bring your own'),
      h(
        'p',
        null,
        "When you add your own key for a provider, generations on that provider run with your key and are billed to you by the provider — they don't use credits.",
      ),
      h(
        'p',
        { class: 'muted' },
        'Your keys and credits work together: a key is used whenever one is saved for the provider, credits otherwise. A key is checked with the provider before it is saved, stored encrypted, and only ever shown masked.',
      ),
    ),
    list,
    userKeysSection(context),
  );
  await renderKeys(list, context);
}

async function renderKeys(list: HTMLElement, context: DashboardContext): Promise<void> {
  let keys: ProviderKey[];
  try {
    keys = (
      await context.api.get<{ data: ProviderKey[] }>(
        `/v1/customers/${encodeURIComponent(context.customerId)}/provider-keys`,
      )
    ).data;
  } catch (error) {
    mount(list, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error)));
    return;
  }
  mount(
    list,
    PROVIDERS.map((provider) =>
      keyCard(provider, keys.find((key) => key.provider === provider.id) ?? null, context, () =>
        renderKeys(list, context),
      ),
    ),
  );
}

/** What to tell a person whose key was not saved; the server's `reason` says which refusal it was. */
function keyRefusal(failure: unknown, providerName: string): string {
  const reason = failure instanceof ApiError ? failure.details.reason : undefined;
  switch (reason) {
    case 'provider_key_rejected':
      return `${providerName} did not accept this key, so it was not saved. Copy the whole key from your ${providerName} account and try again.`;
    case 'provider_unreachable':
    case 'provider_not_configured':
      return `We could not check this key with ${providerName} just now, so it was not saved. Try again in a moment.`;
    case 'byok_not_allowed':
      return 'This app does not allow your own API keys: your generations are paid with credits.';
    default:
      return errorMessage(failure);
  }
}

function keyCard(
  provider: (typeof PROVIDERS)[number],
  saved: ProviderKey | null,
  context: DashboardContext,
  reload: () => Promise<void>,
): HTMLElement {
  const inputId = uid(`key-${provider.id}`);
  const errorId = uid('key-error');
  const headingId = uid('key-heading');
  const path = `/v1/customers/${encodeURIComponent(context.customerId)}/provider-keys/${provider.id}`;
  const input = h('input', {
    type: 'password',
    id: inputId,
    name: `${provider.id}_key`,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: provider.placeholder,
    'aria-describedby': errorId,
    'data-testid': `key-input-${provider.id}`,
  });
  const error = h('p', { class: 'field-error', id: errorId });
  const status = h('div', { 'aria-live': 'polite' });
  const fail = (message: string) => {
    error.setAttribute('role', 'alert');
    error.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  const save = h('button', { type: 'submit', class: 'primary' }, saved ? 'Replace key' : 'Save key');
  const form = h(
    'form',
    {
      novalidate: true,
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        error.textContent = '';
        input.removeAttribute('aria-invalid');
        const key = input.value.trim();
        if (key.length < 8) return fail('That key looks too short. Paste the whole key.');
        if (isBusy(save)) return;
        setBusy(save, true);
        try {
          await context.api.put(path, { key });
          await reload();
          const card = document.getElementById(headingId)?.closest('section');
          (card?.querySelector('[data-testid^="key-saved"]') as HTMLElement | null)?.focus();
        } catch (failure) {
          fail(keyRefusal(failure, provider.name));
          setBusy(save, false);
        }
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { for: inputId }, saved ? `New ${provider.name} API key` : `${provider.name} API key`),
      input,
      error,
    ),
    h(
      'div',
      { class: 'row' },
      save,
      saved
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                const confirmed = await confirmDialog({
                  title: `Remove your ${provider.name} key?`,
                  message: `Generations on ${provider.name} will use credits again.`,
                  confirmLabel: 'Remove key',
                  destructive: true,
                });
                if (!confirmed) return;
                try {
                  await context.api.delete(path);
                  await reload();
                } catch (failure) {
                  if (!(failure instanceof ApiError && failure.status === 404)) fail(errorMessage(failure));
                  else await reload();
                }
              },
            },
            'Remove',
          )
        : null,
      provider.id === 'openrouter'
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'data-testid': 'connect-openrouter',
              onclick: () =>
                context.connectOpenRouter().catch((failure) => fail(keyRefusal(failure, provider.name))),
            },
            'Connect via OpenRouter',
          )
        : null,
    ),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': headingId, 'data-provider': provider.id },
    h('h2', { id: headingId }, provider.name),
    h('p', { class: 'muted' }, provider.use),
    h(
      'div',
      { class: 'key-status' },
      saved
        ? h(
            'p',
            { tabindex: -1, 'data-testid': `key-saved-${provider.id}` },
            'Saved: ',
            h('code', null, saved.masked_key),
            h('span', { class: 'muted' }, ` · updated ${formatDate(saved.updated_at)}`),
          )
        : h(
            'p',
            { class: 'muted', 'data-testid': `key-missing-${provider.id}` },
            'No key saved — credits are used.',
          ),
    ),
    form,
    status,
  );
}
