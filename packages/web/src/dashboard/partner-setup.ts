/**
 * Partner view → Setup: the publishable key and the embed snippet to paste into the app's pages, and
 * the app's referral rate, which it may set up to the ceiling the operator gave (with the history of
 * changes). The operator's key has no app: the page says so.
 */
import type { ReferralRate } from '../../../client/src/types.ts';
import { type Api, errorMessage } from './api.ts';
import { formatDate, h, isBusy, mount, setBusy, uid } from './dom.ts';
import { type Account, copyButton, failure, formatRate, head } from './partner-parts.ts';

/** The snippet a partner pastes before `</body>`: loads sdk.js from this server and initialises it. */
export function embedSnippet(origin: string, publishableKey: string): string {
  return [
    `<script src="${origin}/sdk.js"></script>`,
    '<script>',
    `  Tollgate.init({ publishableKey: ${JSON.stringify(publishableKey)} });`,
    '</script>',
  ].join('\n');
}

export function renderSetup(main: HTMLElement, api: Api, account: Account): void {
  if (!account.app) {
    mount(
      main,
      head('Setup', 'The embed snippet and referral rate of an app.'),
      h(
        'p',
        { class: 'notice info', role: 'status' },
        "You are signed in with the operator's key: sign in with an app's secret key to see its snippet and set its rate.",
      ),
    );
    return;
  }
  const app = account.app;
  const key = app.publishable_key ?? null;
  const snippet = key ? embedSnippet(location.origin, key) : '';
  const rateBody = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  mount(
    main,
    head('Setup', `Put ${app.name} on your pages, and choose your referral rate.`),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'embed-heading' },
      h('h2', { id: 'embed-heading' }, 'Embed the checkout'),
      key
        ? [
            h(
              'p',
              null,
              'Your publishable key (safe to put in web pages): ',
              h('code', { class: 'mono', 'data-testid': 'publishable-key' }, key),
            ),
            h('p', { class: 'muted' }, 'Paste this before </body> on the pages that sell credits:'),
            h(
              'pre',
              {
                class: 'codes mono',
                tabindex: 0,
                'aria-label': 'Embed snippet',
                'data-testid': 'embed-snippet',
              },
              snippet,
            ),
            h(
              'div',
              { class: 'row', style: 'margin-top:8px' },
              copyButton('Copy snippet', () => snippet, 'copy-snippet'),
              copyButton('Copy key', () => key),
            ),
            h('p', { class: 'hint' }, 'Then open the checkout from a button: Tollgate.open({ amount: 25 }).'),
          ]
        : h(
            'p',
            { class: 'notice warning', role: 'status' },
            'This app was created before publishable keys were kept: use the key you were given when it was created.',
          ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'rate-heading' },
      h('h2', { id: 'rate-heading' }, 'Referral rate'),
      rateBody,
    ),
  );

  async function loadRate(notice?: string): Promise<void> {
    let rate: ReferralRate;
    try {
      rate = await api.get<ReferralRate>('/v1/partner/referral-rate');
    } catch (error) {
      mount(rateBody, failure(error));
      return;
    }
    const inputId = uid('rate');
    const errorId = uid('rate-error');
    const hintId = uid('rate-hint');
    const input = h('input', {
      id: inputId,
      inputmode: 'decimal',
      value: String(Number((rate.referral_rate * 100).toFixed(4))),
      'aria-describedby': `${hintId} ${errorId}`,
      'data-testid': 'rate-input',
      style: 'max-width:140px',
    });
    const error = h('p', { class: 'field-error', id: errorId });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save rate');
    mount(
      rateBody,
      notice
        ? h('div', { class: 'notice success', role: 'status', 'data-testid': 'rate-saved' }, notice)
        : null,
      h(
        'p',
        null,
        'Your customers pay the provider cost plus ',
        h('strong', { 'data-testid': 'current-rate' }, formatRate(rate.referral_rate)),
        ', which is yours. A new rate prices work from now on; what was charged keeps its share.',
      ),
      h(
        'form',
        {
          novalidate: true,
          onsubmit: async (event: SubmitEvent) => {
            event.preventDefault();
            if (isBusy(save)) return;
            error.textContent = '';
            input.removeAttribute('aria-invalid');
            const percent = Number(input.value.trim().replace(',', '.').replace(/%$/, ''));
            const show = (message: string) => {
              error.setAttribute('role', 'alert');
              error.textContent = message;
              input.setAttribute('aria-invalid', 'true');
              input.focus();
            };
            if (input.value.trim() === '' || !Number.isFinite(percent) || percent < 0)
              return show('Enter a percentage, for example 15.');
            if (percent > rate.referral_rate_max * 100)
              return show(`At most ${formatRate(rate.referral_rate_max)}, the ceiling your operator set.`);
            setBusy(save, true);
            try {
              // Four decimals of a percent are the six of the rate the server keeps.
              const saved = await api.put<ReferralRate>('/v1/partner/referral-rate', {
                referral_rate: (percent / 100).toFixed(6),
              });
              // The overview reads the account it was given at sign-in.
              app.referral_rate = saved.referral_rate;
              await loadRate(`Saved: your referral rate is now ${formatRate(percent / 100)}.`);
              (rateBody.querySelector('[data-testid="rate-saved"]') as HTMLElement | null)?.focus();
            } catch (failureValue) {
              show(errorMessage(failureValue));
            } finally {
              setBusy(save, false);
            }
          },
        },
        h(
          'div',
          { class: 'field' },
          h('label', { for: inputId }, 'Referral rate (%)'),
          input,
          h(
            'p',
            { class: 'hint', id: hintId },
            `From 0 to ${formatRate(rate.referral_rate_max)} (set by your operator).`,
          ),
          error,
        ),
        h('div', { class: 'row' }, save),
      ),
      rate.history.length
        ? h(
            'div',
            { class: 'table-wrap', style: 'margin-top:16px' },
            h(
              'table',
              { class: 'responsive', 'data-testid': 'rate-history' },
              h('caption', null, 'Changes'),
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['When', 'By', 'Rate', 'Ceiling'].map((label) => h('th', { scope: 'col' }, label)),
                ),
              ),
              h(
                'tbody',
                null,
                rate.history.map((change) =>
                  h(
                    'tr',
                    null,
                    h('td', { 'data-label': 'When' }, formatDate(change.created_at)),
                    h('td', { 'data-label': 'By' }, change.changed_by === 'app' ? 'You' : 'Operator'),
                    h(
                      'td',
                      { 'data-label': 'Rate' },
                      change.from === null || change.from === change.to
                        ? formatRate(change.to)
                        : `${formatRate(change.from)} → ${formatRate(change.to)}`,
                    ),
                    h('td', { 'data-label': 'Ceiling' }, formatRate(change.max)),
                  ),
                ),
              ),
            ),
          )
        : null,
    );
  }
  void loadRate();
}
