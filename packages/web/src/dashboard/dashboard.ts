/**
 * The customer dashboard at /dashboard/: sign-in (a user key, or a portal link's one-time token),
 * then Credits, Usage, Plans and Settings → API Keys, with the billing gate on first visit and
 * whenever a generation would be refused. Hash routes: #/credits/balance, #/credits/transactions,
 * #/credits/gift-codes, #/usage, #/plans, #/settings/api-keys.
 */
import { type Api, ApiError, createApi, errorMessage } from './api.ts';
import { showBillingGate, showInsufficientCreditsToast } from './billing-gate.ts';
import { applyAccent, backToApp, brandContent, loadBranding } from './branding.ts';
import type { DashboardContext, Notice, PublicModel } from './context.ts';
import {
  formatCredits,
  h,
  injectStyles,
  isBusy,
  mount,
  setBusy,
  storageGet,
  storageSet,
  uid,
} from './dom.ts';
import { CREDIT_TABS, noticeElement, renderCreditsPage } from './page-credits.ts';
import { renderPlansPage } from './page-plans.ts';
import { renderPricesPage } from './page-prices.ts';
import { renderReceiptPage } from './page-receipt.ts';
import { renderSettingsPage } from './page-settings.ts';
import { renderUsagePage } from './page-usage.ts';
import { STYLES } from './styles.ts';
import type { Tabs } from './tabs.ts';

const KEY_NAME = 'tollgate.user_key';
const GATE_SEEN = 'tollgate.gate_seen';
/** The header's balance is re-read this often while the tab is visible (charges happen elsewhere). */
const BALANCE_POLL_MS = 30_000;

const root = document.getElementById('app')!;
/** Ends the signed-in dashboard (its hash listener) when signing out or in again. */
let stopDashboard: (() => void) | null = null;
injectStyles(STYLES);

/** A portal session lives in this tab only; a pasted key may be remembered on the device. */
function storedKey(): string | null {
  return storageGet(sessionStorage, KEY_NAME) ?? storageGet(localStorage, KEY_NAME);
}

function storeKey(key: string, remember: boolean): void {
  storageSet(remember ? localStorage : sessionStorage, KEY_NAME, key);
}

function forgetKey(): void {
  storageSet(sessionStorage, KEY_NAME, null);
  storageSet(localStorage, KEY_NAME, null);
}

async function boot(message?: Notice): Promise<void> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const portalToken = fragment.get('portal');
  if (portalToken) {
    // Out of the address bar (and history) before anything else happens.
    history.replaceState(null, '', `${location.pathname}${location.search}#/credits/balance`);
    try {
      const session = await createApi(null).post<{ user_key: string }>('/v1/portal/exchange', {
        token: portalToken,
      });
      forgetKey();
      storeKey(session.user_key, false);
    } catch (error) {
      return renderSignIn({
        kind: 'error',
        title: 'This sign-in link cannot be used',
        text: `${errorMessage(error)}. Ask the app for a new link.`,
      });
    }
  }
  const key = storedKey();
  if (!key) return renderSignIn(message ?? null);
  const api = createApi(key, () => {
    forgetKey();
    void renderSignIn({
      kind: 'warning',
      title: 'Your session has ended',
      text: 'Sign in again to continue.',
    });
  });
  let balance: { customer: string; available: number };
  try {
    balance = await api.get('/v1/credits/balance');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    mount(root, h('main', null, h('div', { class: 'notice error', role: 'alert' }, errorMessage(error))));
    return;
  }
  await startDashboard(api, balance.customer, balance.available);
}

function renderSignIn(notice: Notice | null): void {
  stopDashboard?.();
  stopDashboard = null;
  document.title = 'Sign in — Tollgate';
  const inputId = uid('user-key');
  const errorId = uid('sign-in-error');
  const input = h('input', {
    type: 'password',
    id: inputId,
    name: 'user_key',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'tg_uk_…',
    'aria-describedby': errorId,
    'data-testid': 'user-key',
  });
  const remember = h('input', { type: 'checkbox', id: uid('remember') });
  const error = h('p', { class: 'field-error', id: errorId });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  mount(
    root,
    h(
      'main',
      { id: 'main' },
      h(
        'div',
        { class: 'sign-in' },
        noticeElement(notice),
        h(
          'section',
          { class: 'card' },
          h('h1', null, 'Your credits'),
          h('p', { class: 'muted' }, 'Open the sign-in link from the app you use, or paste your user key.'),
          h(
            'form',
            {
              novalidate: true,
              onsubmit: async (event: SubmitEvent) => {
                event.preventDefault();
                const key = input.value.trim();
                error.textContent = '';
                input.removeAttribute('aria-invalid');
                const fail = (message: string) => {
                  error.setAttribute('role', 'alert');
                  error.textContent = message;
                  input.setAttribute('aria-invalid', 'true');
                  input.focus();
                };
                if (!key.startsWith('tg_uk_')) return fail('A user key starts with tg_uk_.');
                if (isBusy(button)) return;
                setBusy(button, true);
                try {
                  await createApi(key).get('/v1/credits/balance');
                  forgetKey();
                  storeKey(key, remember.checked);
                  await boot();
                } catch (failure) {
                  fail(
                    failure instanceof ApiError && failure.status === 401
                      ? 'That key is not valid or has been revoked.'
                      : errorMessage(failure),
                  );
                  setBusy(button, false);
                }
              },
            },
            h('div', { class: 'field' }, h('label', { for: inputId }, 'User key'), input, error),
            h(
              'div',
              { class: 'field' },
              h('label', { class: 'inline-check' }, remember, 'Keep me signed in on this device'),
            ),
            h('div', { class: 'actions' }, button),
          ),
        ),
        emailSignIn(),
      ),
    ),
  );
  input.focus();
}

const APP_KEY_NAME = 'tollgate.publishable_key';

/**
 * The app a dashboard link names (`/dashboard/?app=tg_pk_…`), kept for this tab: with it, people
 * sign in with their email, as in the app's checkout widget (the same emailed-code endpoints).
 */
function publishableKey(): string | null {
  const fromLink = new URLSearchParams(location.search).get('app');
  if (fromLink && /^tg_pk_[\w-]{1,190}$/.test(fromLink)) storageSet(sessionStorage, APP_KEY_NAME, fromLink);
  return storageGet(sessionStorage, APP_KEY_NAME);
}

/** "Sign in with email": a 6-digit code sent by email, then a user key for this tab. */
function emailSignIn(): HTMLElement | null {
  const appKey = publishableKey();
  if (!appKey) return null;
  const emailId = uid('email');
  const codeId = uid('code');
  const errorId = uid('email-error');
  const email = h('input', {
    type: 'email',
    id: emailId,
    name: 'email',
    autocomplete: 'email',
    'aria-describedby': errorId,
    'data-testid': 'sign-in-email',
  });
  const code = h('input', {
    type: 'text',
    id: codeId,
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    'aria-describedby': errorId,
    'data-testid': 'sign-in-code',
  });
  const codeField = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { for: codeId }, 'Code from the email'),
    code,
  );
  const hint = h('p', { class: 'hint', 'aria-live': 'polite', 'data-testid': 'sign-in-hint' });
  const error = h('p', { class: 'field-error', id: errorId });
  const button = h(
    'button',
    { type: 'submit', class: 'primary', 'data-testid': 'sign-in-email-submit' },
    'Email me a code',
  );
  const fail = (message: string, input: HTMLInputElement) => {
    error.setAttribute('role', 'alert');
    error.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'email-sign-in-heading' },
    h('h2', { id: 'email-sign-in-heading' }, 'Sign in with email'),
    h('p', { class: 'muted' }, 'Use the email you gave the app. We send you a code; no password needed.'),
    h(
      'form',
      {
        novalidate: true,
        onsubmit: async (event: SubmitEvent) => {
          event.preventDefault();
          error.textContent = '';
          email.removeAttribute('aria-invalid');
          code.removeAttribute('aria-invalid');
          const address = email.value.trim();
          if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address)) return fail('Enter a valid email address.', email);
          if (isBusy(button)) return;
          setBusy(button, true);
          const api = createApi(null);
          try {
            if (codeField.hidden) {
              const started = await api.post<{ test_mode_code?: string }>('/v1/widget/login/start', {
                publishable_key: appKey,
                email: address,
              });
              codeField.hidden = false;
              button.textContent = 'Sign in';
              hint.textContent = started.test_mode_code
                ? `Test mode: your code is ${started.test_mode_code}.`
                : `We sent a code to ${address}. It works for 10 minutes.`;
              code.focus();
            } else {
              const typed = code.value.trim();
              if (!/^\d{4,10}$/.test(typed)) return fail('Enter the code from the email.', code);
              const signedIn = await api.post<{ user_key: string }>('/v1/widget/login/verify', {
                publishable_key: appKey,
                email: address,
                code: typed,
              });
              forgetKey();
              storeKey(signedIn.user_key, false);
              await boot();
            }
          } catch (failure) {
            fail(errorMessage(failure), codeField.hidden ? email : code);
          } finally {
            setBusy(button, false);
          }
        },
      },
      h('div', { class: 'field' }, h('label', { for: emailId }, 'Email'), email),
      codeField,
      hint,
      error,
      h('div', { class: 'actions' }, button),
    ),
  );
}

const PAGES = [
  { id: 'credits', label: 'Credits', route: 'credits/balance' },
  { id: 'usage', label: 'Usage', route: 'usage' },
  { id: 'plans', label: 'Plans', route: 'plans' },
  { id: 'prices', label: 'Prices', route: 'prices' },
  { id: 'settings', label: 'Settings', route: 'settings/api-keys' },
] as const;

async function startDashboard(api: Api, customerId: string, available: number): Promise<void> {
  stopDashboard?.();
  const lifetime = new AbortController();
  stopDashboard = () => lifetime.abort();
  const notices = new Map<string, Notice>();
  const [branding] = await Promise.all([loadBranding(api), takeReturnParameters(api, notices)]);
  applyAccent(branding);

  const balancePill = h('a', { class: 'pill', href: '#/credits/balance', 'data-testid': 'balance-pill' });
  const setBalance = (value: number) => {
    balancePill.textContent = `${formatCredits(value)} credits`;
    balancePill.setAttribute('aria-label', `Balance: ${formatCredits(value)} credits available`);
  };
  setBalance(available);
  // The app charges from its own servers: re-read the balance when the person comes back to this tab
  // and now and then while it is visible, so the header never shows a balance long gone.
  const refreshPill = () => {
    if (document.visibilityState === 'visible') void context.refreshBalance();
  };
  document.addEventListener('visibilitychange', refreshPill, { signal: lifetime.signal });
  window.addEventListener('focus', refreshPill, { signal: lifetime.signal });
  const poll = setInterval(refreshPill, BALANCE_POLL_MS);
  lifetime.signal.addEventListener('abort', () => clearInterval(poll));
  const navLinks = PAGES.map((page) => h('a', { href: `#/${page.route}`, 'data-page': page.id }, page.label));
  const main = h('main', { id: 'main', tabindex: -1 });
  mount(
    root,
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onclick: (event: Event) => {
          event.preventDefault();
          main.focus();
        },
      },
      'Skip to content',
    ),
    h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'top-inner' },
        h('a', { class: 'brand', href: '#/credits/balance', 'data-testid': 'brand' }, brandContent(branding)),
        h(
          'nav',
          { class: 'main-nav', 'aria-label': 'Dashboard' },
          h(
            'ul',
            null,
            navLinks.map((link) => h('li', null, link)),
          ),
        ),
        h(
          'div',
          { class: 'who' },
          backToApp(branding),
          balancePill,
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => {
                forgetKey();
                renderSignIn({ kind: 'info', title: 'You have signed out' });
                history.replaceState(null, '', '/dashboard/');
              },
            },
            'Sign out',
          ),
        ),
      ),
    ),
    main,
  );

  let modelsPromise: Promise<PublicModel[]> | null = null;
  let currentPage = '';
  let creditTabs: Tabs | null = null;
  let focusAfter: string | undefined;

  const context: DashboardContext = {
    api,
    customerId,
    takeNotice(page) {
      const notice = notices.get(page) ?? null;
      notices.delete(page);
      return notice;
    },
    navigate(route, focus) {
      focusAfter = focus;
      if (location.hash === `#/${route}`) void render(true);
      else location.hash = `#/${route}`;
    },
    async refreshBalance() {
      const balance = await api.get('/v1/credits/balance').catch(() => null);
      if (balance && !lifetime.signal.aborted) setBalance(balance.available);
      return balance?.available ?? null;
    },
    models() {
      modelsPromise ??= api.get<{ data: PublicModel[] }>('/v1/models').then((result) => result.data);
      modelsPromise.catch(() => {
        modelsPromise = null;
      });
      return modelsPromise;
    },
    showGate(reason, numbers = {}) {
      const addCredits = () => context.navigate('credits/balance', '[data-testid="buy-amount"]');
      showBillingGate({
        reason,
        ...numbers,
        onAddCredits: addCredits,
        onAddKeys: () => context.navigate('settings/api-keys', '[data-testid="key-input-fal"]'),
        onConnectOpenRouter: () => void context.connectOpenRouter(),
      });
      if (reason === 'insufficient_credits') showInsufficientCreditsToast(addCredits);
    },
    async connectOpenRouter() {
      const authorization = await api.post(
        `/v1/customers/${encodeURIComponent(customerId)}/openrouter/authorize`,
        {
          callback_url: `${location.origin}/dashboard/openrouter/callback`,
        },
      );
      location.assign(authorization.url);
    },
  };

  async function render(force = false): Promise<void> {
    // A portal link opened in this tab: boot() signs in with it (another account, maybe).
    if (location.hash.includes('portal=')) return;
    const [page = 'credits', sub] = location.hash.replace(/^#\/?/, '').split('/');
    // A receipt (#/receipts/<id>) belongs to Credits in the nav; it is a page of its own.
    if (page === 'receipts' && sub) {
      creditTabs = null;
      currentPage = 'receipts';
      for (const link of navLinks) link.removeAttribute('aria-current');
      await renderReceiptPage(main, context, decodeURIComponent(sub));
      document.title = 'Receipt — Tollgate';
      (main.querySelector('h1') as HTMLElement | null)?.focus();
      return;
    }
    const known = PAGES.find((candidate) => candidate.id === page) ?? PAGES[0];
    for (const link of navLinks) {
      if (link.dataset.page === known.id) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const samePage = known.id === currentPage && !force;
    if (known.id === 'credits') {
      const tab = (CREDIT_TABS as readonly string[]).includes(sub ?? '') ? sub! : 'balance';
      if (samePage && creditTabs) creditTabs.select(tab);
      else creditTabs = renderCreditsPage(main, context, tab);
      document.title = 'Credits — Tollgate';
    } else {
      creditTabs = null;
      if (samePage) return;
      if (known.id === 'usage') renderUsagePage(main, context);
      if (known.id === 'plans') renderPlansPage(main, context);
      if (known.id === 'prices') await renderPricesPage(main, context);
      if (known.id === 'settings') await renderSettingsPage(main, context);
      document.title = `${known.label} — Tollgate`;
    }
    const firstRender = currentPage === '';
    currentPage = known.id;
    const target = focusAfter;
    focusAfter = undefined;
    if (target) {
      // The page may still be loading its data: wait for the element to appear.
      for (let attempt = 0; attempt < 50; attempt++) {
        const element = main.querySelector(target) as HTMLElement | null;
        if (element) {
          element.focus();
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } else if (!firstRender && !samePage) {
      (main.querySelector('h1') as HTMLElement | null)?.focus();
    }
  }

  window.addEventListener('hashchange', () => void render(), { signal: lifetime.signal });
  await render();
  await maybeShowOnboardingGate(api, customerId, available, context);
}

/** Seed 000: at first visit (once per session), a customer with neither credits nor keys sees the gate. */
async function maybeShowOnboardingGate(
  api: Api,
  customerId: string,
  available: number,
  context: DashboardContext,
) {
  const seenKey = `${GATE_SEEN}.${customerId}`;
  if (available > 0 || storageGet(sessionStorage, seenKey)) return;
  const keys = await api
    .get<{ data: unknown[] }>(`/v1/customers/${encodeURIComponent(customerId)}/provider-keys`)
    .catch(() => ({ data: [1] }));
  if (keys.data.length > 0) return;
  storageSet(sessionStorage, seenKey, '1');
  context.showGate('onboarding');
}

/**
 * Coming back from checkout (?purchase=…), plan checkout (?subscription=…) or OpenRouter's OAuth
 * callback (/dashboard/openrouter/callback?code=…&state=…): turn it into a notice for the page and
 * clean the address bar.
 */
async function takeReturnParameters(api: Api, notices: Map<string, Notice>): Promise<void> {
  const params = new URLSearchParams(location.search);
  let hash = location.hash || '#/credits/balance';
  let changed = false;
  const purchase = params.get('purchase');
  if (purchase === 'success') {
    notices.set('balance', await purchaseNotice(api, params.get('session_id')));
    hash = '#/credits/balance';
    changed = true;
  } else if (purchase === 'cancelled') {
    notices.set('balance', {
      kind: 'warning',
      title: 'Checkout cancelled',
      text: 'No payment was taken. You can buy credits whenever you like.',
    });
    hash = '#/credits/balance';
    changed = true;
  }
  const subscription = params.get('subscription');
  if (subscription) {
    notices.set(
      'plans',
      subscription === 'success'
        ? { kind: 'success', title: 'Your plan is active', text: 'Your allowance is ready to use.' }
        : subscription === 'upgraded'
          ? {
              kind: 'success',
              title: 'Upgrade complete',
              text: 'Your new plan and its extra allowance for this period are ready to use.',
            }
          : { kind: 'warning', title: 'Plan checkout cancelled', text: 'Nothing was charged.' },
    );
    hash = '#/plans';
    changed = true;
  }
  if (location.pathname.endsWith('/openrouter/callback')) {
    const code = params.get('code');
    const state = params.get('state');
    if (code && state) {
      try {
        const balance = await api.get<{ customer: string }>('/v1/credits/balance');
        const key = await api.post(
          `/v1/customers/${encodeURIComponent(balance.customer)}/openrouter/exchange`,
          { code, state },
        );
        notices.set('settings', {
          kind: 'success',
          title: 'OpenRouter connected',
          text: `Your OpenRouter key ${key.masked_key} is saved. Language models now run on it without using credits.`,
        });
      } catch (error) {
        notices.set('settings', {
          kind: 'error',
          title: 'OpenRouter could not be connected',
          text: errorMessage(error),
        });
      }
    } else {
      notices.set('settings', {
        kind: 'warning',
        title: 'OpenRouter was not connected',
        text: 'The sign-in was cancelled.',
      });
    }
    hash = '#/settings/api-keys';
    changed = true;
  }
  if (changed) history.replaceState(null, '', `/dashboard/${hash}`);
}

async function purchaseNotice(api: Api, sessionId: string | null): Promise<Notice> {
  const pending: Notice = {
    kind: 'info',
    title: 'Payment received',
    text: 'Your credits will appear in a moment; refresh if they do not.',
  };
  if (!sessionId || sessionId.includes('{')) return { ...pending, kind: 'success' };
  // Stripe confirms by webhook, which may land a moment after the redirect.
  for (let attempt = 0; attempt < 8; attempt++) {
    const session = await api.get(`/v1/checkout/sessions/${encodeURIComponent(sessionId)}`).catch(() => null);
    if (session?.status === 'completed') {
      const purchase = session.purchase;
      return {
        kind: 'success',
        title: 'Purchase complete',
        text: `${formatCredits(purchase.credits)} credits were added to your balance${
          purchase.bonus_credits > 0
            ? `, including a ${formatCredits(purchase.bonus_credits)} credit bonus`
            : ''
        }. Thank you!`,
      };
    }
    if (session?.status === 'failed')
      return { kind: 'error', title: 'The payment did not go through', text: 'No credits were added.' };
    await new Promise((resolve) => setTimeout(resolve, 750));
  }
  return pending;
}

// A portal link opened in a tab that already shows the dashboard changes only the fragment: the page
// does not load again, so the link's token is taken here (and may sign in as someone else).
window.addEventListener('hashchange', () => {
  if (new URLSearchParams(location.hash.slice(1)).has('portal')) void boot();
});

void boot();
