/**
 * The widget inside the SDK's iframe, served by Tollgate at /widget/checkout: choose an amount, sign
 * in with an emailed code, pay (test-mode page or Stripe Embedded Checkout in the frame, a new tab,
 * or handed to the host page), see the result. It talks to the host page only by postMessage, to the
 * origin the page was opened for, and calls Tollgate's API on its own origin. It stores nothing: the
 * user key lives in the host page's localStorage and arrives in the `init` message.
 */
import {
  type CurrencyRules,
  currencySymbol,
  formatCredits,
  formatMoney,
  LARGE_PURCHASE_MAJOR_UNITS,
  minorDigits,
  parseAmountInput,
  quoteCreditsIn,
  toMinorUnits,
} from './amounts.ts';
import {
  type CheckoutMode,
  type ErrorInfo,
  envelope,
  type HostMessage,
  isEnvelope,
  type WidgetMessage,
} from './protocol.ts';

interface Boot {
  publishable_key: string;
  host_origin: string;
  mode: CheckoutMode;
  amount: number | null;
  session_id: string | null;
  status: 'success' | 'cancelled' | null;
  /** Why the checkout cannot open (a bad publishable key); `config` is null then. */
  problem?: ErrorInfo;
  /** Amounts are in `config.currency` (the SDK's `currency` option, USD by default). */
  config: CurrencyRules & {
    app: { name: string };
    signup_bonus: number;
    test_mode: boolean;
    checkout_provider: 'stripe' | 'test';
    stripe_publishable_key: string | null;
    email_login: boolean;
  };
}

interface CheckoutSession {
  id: string;
  url: string | null;
  client_secret: string | null;
}

interface SessionStatus {
  status: 'pending' | 'completed' | 'failed' | 'refunded' | 'partially_refunded';
  purchase: { credits: number };
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason: string | null,
    /** Sign-in codes: wrong tries left before a new code is needed. */
    readonly attemptsLeft: number | null = null,
  ) {
    super(message);
  }
}

const boot = JSON.parse(document.getElementById('tollgate-boot')!.textContent!) as Boot;
// Null only with `problem`, which ends the boot below before anything reads it.
const config = boot.config ?? ({ app: { name: '' }, test_mode: false } as Boot['config']);
/** Minor units (cents) in one major unit of the widget's currency. */
const MINOR_PER_MAJOR = 10 ** minorDigits(config.currency ?? 'usd');
const minor = (amount: number) => toMinorUnits(amount, config.currency);
const money = (amount: number, minorShown = false) => formatMoney(amount, config.currency, minorShown);
/** "dollars", "euros", … as a buyer would type the amount. */
function currencyName(): string {
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'currency' }).of(config.currency.toUpperCase()) ?? '';
    return name.split(' ').at(-1)!.toLowerCase() + (name.endsWith('s') ? '' : 's');
  } catch {
    return config.currency.toUpperCase();
  }
}
const root = document.getElementById('tollgate-widget')!;

const state = {
  userKey: null as string | null,
  email: null as string | null,
  balance: null as number | null,
  loginEmail: '',
  testCode: null as string | null,
  initialized: false,
  /** Stops the poll of a checkout when the visitor leaves the waiting screen. */
  pollToken: 0,
};

// ---------------------------------------------------------------------------------------------
// The host page: exact origin both ways, and only our parent window.
// ---------------------------------------------------------------------------------------------

function post(message: WidgetMessage): void {
  window.parent.postMessage(envelope(message), boot.host_origin);
}

function reportError(error: ErrorInfo): void {
  post({ type: 'error', error });
}

window.addEventListener('message', (event: MessageEvent) => {
  if (event.source !== window.parent || event.origin !== boot.host_origin || !isEnvelope(event.data)) return;
  const message = event.data as unknown as HostMessage;
  if (message.type === 'init') void start(typeof message.user_key === 'string' ? message.user_key : null);
  if (message.type === 'focus') focusEdge(message.position);
});

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    event.preventDefault();
    post({ type: 'close' });
  }
});

function framedByHost(): boolean {
  if (window.parent === window) return false;
  // Where the browser tells us who embeds us (Chromium, Safari), it must be the origin we were given.
  const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  return !ancestors || ancestors.length === 0 || ancestors[0] === boot.host_origin;
}

// ---------------------------------------------------------------------------------------------
// API on our own origin
// ---------------------------------------------------------------------------------------------

async function api<T>(method: string, path: string, body?: unknown, userKey?: string | null): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (userKey) headers['x-user-key'] = userKey;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(
      0,
      'network_error',
      'Could not reach the server. Check your connection and try again.',
      null,
    );
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  if (!response.ok) {
    const error = (
      parsed as {
        error?: { code?: string; message?: string; reason?: string; attempts_left?: number };
      } | null
    )?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `Request failed (${response.status})`,
      error?.reason ?? null,
      typeof error?.attempts_left === 'number' ? error.attempts_left : null,
    );
  }
  return parsed as T;
}

const errorInfo = (error: unknown): ErrorInfo =>
  error instanceof ApiError
    ? { code: error.code, message: error.message }
    : { code: 'unexpected_error', message: String((error as Error)?.message ?? error) };

// ---------------------------------------------------------------------------------------------
// DOM helpers: elements built from data (no HTML strings), one view at a time
// ---------------------------------------------------------------------------------------------

type Child = Node | string | null | false | undefined;

function h<Name extends keyof HTMLElementTagNameMap>(
  name: Name,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[Name] {
  const node = document.createElement(name);
  for (const [attribute, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(attribute, value === true ? '' : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function button(
  label: string,
  onClick: () => void,
  className = 'primary',
  attributes: Record<string, string> = {},
): HTMLButtonElement {
  const node = h('button', { type: 'button', class: className, ...attributes }, label);
  node.addEventListener('click', onClick);
  return node;
}

/** Shows a view; moves focus to `focus` (or the view's heading) so screen readers follow. */
function show(view: HTMLElement, focus?: HTMLElement | null): void {
  root.replaceChildren(view);
  const target = focus ?? view.querySelector<HTMLElement>('h1');
  if (target) {
    if (target.tagName === 'H1') target.tabIndex = -1;
    target.focus({ preventScroll: false });
  }
}

/** Focus wrapped around the modal: the first or last control in tab order (one radio per group). */
function focusEdge(position: 'first' | 'last'): void {
  const focusable = Array.from(
    root.querySelectorAll<HTMLElement>('button:not([disabled]), input:not([disabled]), a[href]'),
  ).filter((node) => {
    if (node.offsetParent === null && !(node instanceof HTMLInputElement && node.type === 'radio'))
      return false;
    if (!(node instanceof HTMLInputElement) || node.type !== 'radio') return true;
    const group = Array.from(
      root.querySelectorAll<HTMLInputElement>(`input[type="radio"][name="${node.name}"]`),
    );
    const checked = group.find((radio) => radio.checked);
    return checked ? node === checked : node === group[0];
  });
  const target = position === 'first' ? focusable[0] : focusable[focusable.length - 1];
  (target ?? root.querySelector<HTMLElement>('h1'))?.focus();
}

function setBusy(control: HTMLButtonElement, busy: boolean, busyLabel = 'Please wait…'): void {
  if (busy) {
    control.dataset.label = control.textContent ?? '';
    control.textContent = busyLabel;
  } else if (control.dataset.label) {
    control.textContent = control.dataset.label;
  }
  control.disabled = busy;
  control.setAttribute('aria-busy', String(busy));
}

function header(title: string, subtitle?: string): HTMLElement {
  return h(
    'header',
    { class: 'head' },
    h('h1', {}, title),
    subtitle ? h('p', { class: 'sub' }, subtitle) : null,
  );
}

function footer(): HTMLElement {
  return h(
    'footer',
    { class: 'foot' },
    boot.problem
      ? null
      : config.test_mode
        ? h('span', { class: 'test-badge' }, 'Test mode — no real payment is taken')
        : h('span', {}, 'Payments by Stripe'),
  );
}

function alertLine(): HTMLParagraphElement {
  return h('p', { class: 'alert', role: 'alert' });
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

function accountBar(): HTMLElement {
  if (!state.userKey) {
    return h(
      'div',
      { class: 'account' },
      config.email_login
        ? h(
            'span',
            {},
            'Have an account? ',
            button('Sign in', () => showSignIn(), 'link'),
          )
        : h('span', {}, 'New here? Your credits are saved in this browser.'),
    );
  }
  return h(
    'div',
    { class: 'account' },
    h(
      'div',
      { class: 'me' },
      h('strong', {}, state.balance === null ? 'Your balance' : `${formatCredits(state.balance)} credits`),
      h(
        'span',
        { class: 'who' },
        state.email ? `Signed in as ${state.email}` : 'Guest · saved in this browser',
      ),
    ),
    button('Log out', () => logOut(), 'link'),
  );
}

function showAmounts(
  options: { notice?: string; noticeKind?: 'success' | 'warning'; preset?: number | null } = {},
): void {
  const presetCents = options.preset ? minor(options.preset) : null;
  const presetMatches = config.amounts.some((amount) => minor(amount.amount) === presetCents);
  // The first amount is chosen when nothing else is: the tile that looks selected is the one paid.
  const chosenCents = presetCents === null ? minor(config.amounts[0]?.amount ?? 0) : presetCents;
  const tiles = config.amounts.map((amount) => {
    const cents = minor(amount.amount);
    const id = `amount-${cents}`;
    const input = h('input', { type: 'radio', name: 'amount', id, value: String(cents) });
    if ((presetMatches || presetCents === null) && cents === chosenCents) input.checked = true;
    return h(
      'div',
      { class: 'tile' },
      input,
      h(
        'label',
        { for: id },
        h('span', { class: 'price' }, money(amount.amount)),
        h('span', { class: 'credits' }, `${formatCredits(amount.credits)} credits`),
        amount.bonus_credits > 0
          ? h('span', { class: 'bonus' }, `+${formatCredits(amount.bonus_credits)} bonus`)
          : null,
      ),
    );
  });
  const custom = h('input', {
    id: 'custom-amount',
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    'aria-describedby': 'custom-hint',
  });
  if (presetCents !== null && !presetMatches) custom.value = String(presetCents / MINOR_PER_MAJOR);
  const summary = h('p', { class: 'summary', 'aria-live': 'polite', id: 'summary' });
  const alert = alertLine();
  const pay = button('Continue to payment', () => void submit());
  /** A large amount is paid only after "Yes, pay …" for exactly that amount. */
  const confirmation = h('div', { class: 'confirm-large', hidden: true, 'data-testid': 'confirm-large' });
  let confirmedCents: number | null = null;

  const selectedAmount = (): number | null => {
    if (custom.value.trim()) return parseAmountInput(custom.value, minorDigits(config.currency));
    const checked = root.querySelector<HTMLInputElement>('input[name="amount"]:checked');
    return checked ? Number(checked.value) / MINOR_PER_MAJOR : null;
  };
  const typingHint = `Enter an amount in ${currencyName()}, like 20${MINOR_PER_MAJOR > 1 ? ' or 12.50' : ''}.`;
  const refresh = () => {
    alert.textContent = '';
    confirmation.hidden = true;
    confirmation.replaceChildren();
    confirmedCents = null;
    custom.removeAttribute('aria-invalid');
    const amount = selectedAmount();
    if (amount === null) {
      summary.textContent = custom.value.trim() ? typingHint : '';
      pay.textContent = 'Continue to payment';
      return;
    }
    const quote = quoteCreditsIn(config, amount);
    summary.textContent = `${money(amount)} → ${formatCredits(quote.credits)} credits${quote.bonus > 0 ? ` (+${formatCredits(quote.bonus)} bonus)` : ''}`;
    pay.textContent = `Pay ${money(amount)}`;
  };
  for (const tile of tiles) {
    tile.querySelector('input')!.addEventListener('change', () => {
      custom.value = '';
      refresh();
    });
  }
  custom.addEventListener('input', () => {
    if (custom.value.trim())
      for (const radio of Array.from(root.querySelectorAll<HTMLInputElement>('input[name="amount"]')))
        radio.checked = false;
    refresh();
  });
  custom.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') void submit();
  });

  async function submit(): Promise<void> {
    const amount = selectedAmount();
    if (amount === null) {
      alert.textContent = custom.value.trim() ? typingHint : 'Choose an amount first.';
      (custom.value.trim() ? custom : root.querySelector<HTMLInputElement>('input[name="amount"]'))?.focus();
      return;
    }
    if (amount < config.minimum) {
      alert.textContent = `The minimum purchase is ${money(config.minimum)}.`;
      custom.setAttribute('aria-invalid', 'true');
      custom.focus();
      return;
    }
    if (amount > config.maximum) {
      alert.textContent = `The most you can buy at once is ${money(config.maximum)}.`;
      custom.focus();
      return;
    }
    const cents = minor(amount);
    if (amount >= LARGE_PURCHASE_MAJOR_UNITS && confirmedCents !== cents) {
      const yes = button(`Yes, pay ${money(amount)}`, () => {
        confirmedCents = cents;
        void submit();
      });
      confirmation.replaceChildren(
        h(
          'p',
          { id: 'confirm-large-text' },
          `You are about to pay ${money(amount, true)}. That is a large amount — is it right?`,
        ),
        h(
          'div',
          { class: 'row' },
          yes,
          button(
            'Change amount',
            () => {
              refresh();
              custom.focus();
            },
            'secondary',
          ),
        ),
      );
      confirmation.hidden = false;
      yes.focus();
      return;
    }
    await startCheckout(amount, pay, alert);
  }

  const bonusTier = config.bonus[0];
  const view = h(
    'section',
    { class: 'view' },
    header('Buy credits', config.app.name),
    accountBar(),
    options.notice
      ? h('p', { class: `notice ${options.noticeKind ?? 'success'}`, role: 'status' }, options.notice)
      : null,
    h(
      'fieldset',
      { class: 'amounts' },
      h('legend', {}, 'Choose an amount'),
      h('div', { class: 'tiles' }, ...tiles),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'custom-amount' }, 'Or enter an amount'),
      h(
        'div',
        { class: 'money' },
        h('span', { 'aria-hidden': 'true' }, currencySymbol(config.currency)),
        custom,
      ),
      h(
        'p',
        { class: 'hint', id: 'custom-hint' },
        `Minimum ${money(config.minimum)}.${bonusTier ? ` +${bonusTier.percent}% bonus credits from ${money(bonusTier.from)}.` : ''}`,
      ),
    ),
    summary,
    alert,
    confirmation,
    pay,
    footer(),
  );
  // Focus where the visitor acts next: the pay button for a preset amount, else the amounts.
  const firstAmount = tiles[0]?.querySelector('input') ?? null;
  show(
    view,
    presetCents !== null
      ? pay
      : (view.querySelector<HTMLInputElement>('input[name="amount"]:checked') ?? firstAmount),
  );
  refresh();
}

function showSignIn(options: { claim?: boolean } = {}): void {
  const emailInput = h('input', {
    id: 'email',
    type: 'email',
    autocomplete: 'email',
    required: true,
    spellcheck: 'false',
  });
  emailInput.value = state.loginEmail;
  const alert = alertLine();
  const send = button('Email me a code', () => void submit());
  const form = h(
    'form',
    { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'Email'), emailInput),
    alert,
    send,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });
  send.type = 'submit';

  async function submit(): Promise<void> {
    const email = emailInput.value.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      alert.textContent = 'Enter a valid email address.';
      emailInput.setAttribute('aria-invalid', 'true');
      emailInput.focus();
      return;
    }
    setBusy(send, true, 'Sending…');
    try {
      const started = await api<{ test_mode_code?: string }>('POST', '/v1/widget/login/start', {
        publishable_key: boot.publishable_key,
        email,
      });
      state.loginEmail = email;
      state.testCode = started.test_mode_code ?? null;
      showCode();
    } catch (error) {
      setBusy(send, false);
      alert.textContent = errorInfo(error).message;
      reportError(errorInfo(error));
    }
  }

  show(
    h(
      'section',
      { class: 'view' },
      header(
        options.claim ? 'Save your credits' : 'Sign in',
        options.claim
          ? 'Add your email to use your credits on other devices.'
          : "We'll email you a 6-digit code.",
      ),
      form,
      button('Back', () => showAmounts(), 'secondary'),
      footer(),
    ),
    emailInput,
  );
}

function showCode(): void {
  const codeInput = h('input', {
    id: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    maxlength: '7',
    pattern: '[0-9 ]*',
    'aria-describedby': 'code-hint',
  });
  const alert = alertLine();
  const verify = button('Sign in', () => void submit());
  verify.type = 'submit';
  const form = h(
    'form',
    { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'code' }, '6-digit code'), codeInput),
    h('p', { class: 'hint', id: 'code-hint' }, `Sent to ${state.loginEmail}. It expires in 10 minutes.`),
    state.testCode
      ? h(
          'p',
          { class: 'test-code', role: 'note' },
          'Test mode: your code is ',
          h('strong', {}, state.testCode),
        )
      : null,
    alert,
    verify,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });

  async function submit(): Promise<void> {
    const code = codeInput.value.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) {
      alert.textContent = 'Enter the 6 digits from the email.';
      codeInput.focus();
      return;
    }
    setBusy(verify, true, 'Signing in…');
    try {
      const signedIn = await api<{ user_key: string; balance: number; email: string | null }>(
        'POST',
        '/v1/widget/login/verify',
        {
          publishable_key: boot.publishable_key,
          email: state.loginEmail,
          code,
          ...(state.userKey ? { user_key: state.userKey } : {}),
        },
      );
      state.userKey = signedIn.user_key;
      state.balance = signedIn.balance;
      state.email = signedIn.email ?? state.loginEmail;
      state.testCode = null;
      post({ type: 'login_completed', user_key: signedIn.user_key, balance: signedIn.balance });
      showAmounts({ notice: "You're signed in." });
    } catch (error) {
      setBusy(verify, false);
      const info = errorInfo(error);
      const left = error instanceof ApiError ? error.attemptsLeft : null;
      alert.textContent =
        left === null ? info.message : `${info.message} ${left} ${left === 1 ? 'try' : 'tries'} left.`;
      codeInput.setAttribute('aria-invalid', 'true');
      codeInput.select();
      reportError(info);
    }
  }

  show(
    h(
      'section',
      { class: 'view' },
      header('Check your email', 'Enter the code we sent you.'),
      form,
      h(
        'div',
        { class: 'row' },
        button('Send a new code', () => showSignIn(), 'secondary'),
        button('Back', () => showAmounts(), 'secondary'),
      ),
      footer(),
    ),
    codeInput,
  );
}

function showWaiting(session: CheckoutSession, tab: Window | null): void {
  const link = h(
    'a',
    { href: session.url ?? '#', target: '_blank', rel: 'noopener' },
    tab ? 'Open the payment page again' : 'Open the payment page',
  );
  show(
    h(
      'section',
      { class: 'view center' },
      header('Finish paying in the new tab', 'This window updates by itself when the payment is done.'),
      h('div', { class: 'spinner', role: 'progressbar', 'aria-label': 'Waiting for payment' }),
      h('p', {}, link),
      button(
        'Cancel',
        () => {
          state.pollToken += 1;
          showAmounts();
        },
        'secondary',
      ),
      footer(),
    ),
  );
  void pollCheckout(session.id);
}

function showConfirming(): void {
  show(
    h(
      'section',
      { class: 'view center' },
      header('Confirming your payment…'),
      h('div', { class: 'spinner', role: 'progressbar', 'aria-label': 'Confirming payment' }),
    ),
  );
}

function showSuccess(creditsAdded: number, balance: number): void {
  const done = button('Done', () => {
    post({ type: 'complete', user_key: state.userKey!, balance, credits_added: creditsAdded });
  });
  show(
    h(
      'section',
      { class: 'view center' },
      h('div', { class: 'check', 'aria-hidden': 'true' }, '✓'),
      header('Payment complete'),
      h('p', { class: 'big' }, `+${formatCredits(creditsAdded)} credits`),
      h('p', { role: 'status' }, `Your balance is now ${formatCredits(balance)} credits.`),
      done,
      // The same account on the dashboard: its statement and receipts (signed in there by email).
      h(
        'p',
        { class: 'hint' },
        h(
          'a',
          {
            href: `${location.origin}/dashboard/?app=${encodeURIComponent(boot.publishable_key)}#/credits/transactions`,
            target: '_blank',
            rel: 'noopener',
            'data-testid': 'view-history',
          },
          'View history and receipts',
        ),
      ),
      !state.email && config.email_login
        ? h(
            'p',
            { class: 'hint' },
            'Want these credits on your other devices? ',
            button('Add your email', () => showSignIn({ claim: true }), 'link'),
          )
        : null,
      footer(),
    ),
    done,
  );
}

function showProblem(title: string, message: string): void {
  show(
    h(
      'section',
      { class: 'view center' },
      header(title),
      h('p', { role: 'alert' }, message),
      state.initialized ? button('Back to amounts', () => showAmounts()) : null,
      footer(),
    ),
  );
}

function showStripe(): HTMLElement {
  const mount = h('div', { id: 'stripe-checkout', class: 'stripe' });
  show(
    h(
      'section',
      { class: 'view stripe-view' },
      header('Payment'),
      mount,
      button('Back', () => showAmounts(), 'secondary'),
    ),
  );
  return mount;
}

// ---------------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------------

async function start(userKey: string | null): Promise<void> {
  if (boot.problem) return;
  const first = !state.initialized;
  state.initialized = true;
  state.userKey = userKey;
  if (!first) return;
  if (userKey) {
    try {
      const me = await api<{ balance: number; email: string | null }>(
        'GET',
        '/v1/widget/me',
        undefined,
        userKey,
      );
      state.balance = me.balance;
      state.email = me.email;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        // A key from an old server or a revoked one: start over as a new visitor.
        state.userKey = null;
        post({ type: 'session', user_key: null });
      }
    }
  }
  if (boot.session_id && boot.status === 'success') return confirmReturn(boot.session_id);
  if (boot.session_id && boot.status === 'cancelled') {
    forgetReturn();
    post({
      type: 'purchase_error',
      error: { code: 'payment_cancelled', message: 'The payment was cancelled.' },
    });
    return showAmounts({ notice: 'Payment cancelled. Nothing was charged.', noticeKind: 'warning' });
  }
  showAmounts({ preset: boot.amount });
}

/** The visitor's checkout mode, except that Stripe's hosted page cannot be framed: without Stripe.js it opens in a tab. */
function effectiveMode(): CheckoutMode {
  if (boot.mode === 'embedded' && config.checkout_provider === 'stripe' && !config.stripe_publishable_key)
    return 'new_tab';
  return boot.mode;
}

function widgetUrl(extra: string): string {
  const params = new URLSearchParams({
    pk: boot.publishable_key,
    origin: boot.host_origin,
    mode: boot.mode,
    currency: config.currency,
  });
  // {CHECKOUT_SESSION_ID} stays literal: the payment provider fills it in.
  return `${location.origin}/widget/checkout?${params.toString()}&${extra}`;
}

async function startCheckout(amount: number, control: HTMLButtonElement, alert: HTMLElement): Promise<void> {
  const mode = effectiveMode();
  // A tab opened now, inside the click, is not blocked as a popup; it is pointed at the checkout below.
  const tab = mode === 'new_tab' ? window.open('', '_blank') : null;
  if (tab) {
    try {
      tab.opener = null;
      tab.document.title = 'Opening checkout…';
    } catch {
      // cross-origin already: fine
    }
  }
  setBusy(control, true);
  try {
    if (!state.userKey) {
      const session = await api<{ user_key: string; balance: number }>('POST', '/v1/widget/session', {
        publishable_key: boot.publishable_key,
      });
      state.userKey = session.user_key;
      state.balance = session.balance;
      post({ type: 'session', user_key: session.user_key });
    }
    const inFrame = mode === 'embedded';
    const useStripeJs = inFrame && config.checkout_provider === 'stripe';
    const returnTo = inFrame
      ? (status: string) => widgetUrl(`status=${status}&session_id={CHECKOUT_SESSION_ID}`)
      : (status: string) =>
          `${location.origin}/widget/return?status=${status}&session_id={CHECKOUT_SESSION_ID}`;
    const session = await api<CheckoutSession>(
      'POST',
      '/v1/checkout/sessions',
      {
        amount: amount.toFixed(minorDigits(config.currency)),
        currency: config.currency,
        success_url: returnTo('success'),
        cancel_url: returnTo('cancelled'),
        ...(useStripeJs ? { ui_mode: 'embedded' } : {}),
      },
      state.userKey,
    );
    post({
      type: 'checkout_opened',
      session_id: session.id,
      user_key: state.userKey!,
      ...(mode === 'manual' && session.url ? { checkout_url: session.url } : {}),
    });
    if (mode === 'manual') {
      show(
        h(
          'section',
          { class: 'view center' },
          header('Checkout ready'),
          h('p', {}, 'Continue in the app to pay.'),
          footer(),
        ),
      );
      return;
    }
    if (mode === 'new_tab') {
      if (tab && session.url) tab.location.href = session.url;
      showWaiting(session, tab);
      return;
    }
    if (useStripeJs && session.client_secret) {
      await mountStripe(session.id, session.client_secret);
      return;
    }
    if (!session.url)
      throw new ApiError(0, 'checkout_unavailable', 'The payment page is not available.', null);
    location.assign(session.url);
  } catch (error) {
    tab?.close();
    setBusy(control, false);
    const info = errorInfo(error);
    alert.textContent = info.message;
    post({ type: 'purchase_error', error: info });
  }
}

interface EmbeddedCheckout {
  mount(selector: string | HTMLElement): void;
  destroy(): void;
}

interface StripeJs {
  initEmbeddedCheckout(options: {
    fetchClientSecret: () => Promise<string>;
    onComplete?: () => void;
  }): Promise<EmbeddedCheckout>;
}

/**
 * Stripe.js is loaded only here, when a Stripe Embedded Checkout is about to be shown. A card payment
 * completes in place (onComplete); a method that must redirect comes back to the widget's URL.
 */
async function mountStripe(sessionId: string, clientSecret: string): Promise<void> {
  const factory = await loadStripeJs();
  const stripe = factory(config.stripe_publishable_key!);
  const mount = showStripe();
  const checkout = await stripe.initEmbeddedCheckout({
    fetchClientSecret: async () => clientSecret,
    onComplete: () => {
      checkout.destroy();
      void confirmReturn(sessionId);
    },
  });
  checkout.mount(mount);
}

function loadStripeJs(): Promise<(key: string) => StripeJs> {
  const existing = (window as unknown as { Stripe?: (key: string) => StripeJs }).Stripe;
  if (existing) return Promise.resolve(existing);
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = 'https://js.stripe.com/v3/';
    script.onload = () => {
      const loaded = (window as unknown as { Stripe?: (key: string) => StripeJs }).Stripe;
      if (loaded) resolve(loaded);
      else reject(new Error('Stripe.js did not load'));
    };
    script.onerror = () => reject(new Error('Stripe.js could not be loaded'));
    document.head.append(script);
  });
}

/** Back from the payment page inside the frame: wait for the purchase, then report it. */
async function confirmReturn(sessionId: string): Promise<void> {
  forgetReturn();
  showConfirming();
  await pollCheckout(sessionId);
}

function forgetReturn(): void {
  history.replaceState(null, '', widgetUrl('').replace(/&$/, ''));
}

async function pollCheckout(sessionId: string): Promise<void> {
  const token = ++state.pollToken;
  const startedAt = Date.now();
  let delay = 1000;
  while (token === state.pollToken) {
    try {
      const status = await api<SessionStatus>(
        'GET',
        `/v1/checkout/sessions/${encodeURIComponent(sessionId)}`,
        undefined,
        state.userKey,
      );
      if (token !== state.pollToken) return;
      if (status.status === 'completed') return purchaseCompleted(sessionId, status.purchase.credits);
      if (status.status === 'failed') {
        const error = {
          code: 'payment_cancelled',
          message: 'The payment was cancelled or did not go through.',
        };
        post({ type: 'purchase_error', error });
        return showAmounts({ notice: 'Payment cancelled. Nothing was charged.', noticeKind: 'warning' });
      }
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        post({ type: 'purchase_error', error: errorInfo(error) });
        return showProblem('Something went wrong', errorInfo(error).message);
      }
      // network trouble or a 5xx: keep trying
    }
    if (Date.now() - startedAt > 10 * 60 * 1000) {
      return showProblem(
        'Still processing',
        'Your payment is taking longer than usual. Your credits will appear as soon as it completes.',
      );
    }
    await new Promise((resolve) => window.setTimeout(resolve, delay));
    delay = Math.min(3000, delay + 500);
  }
}

async function purchaseCompleted(sessionId: string, creditsAdded: number): Promise<void> {
  let balance = state.balance ?? 0;
  try {
    balance = (await api<{ balance: number }>('GET', '/v1/widget/me', undefined, state.userKey)).balance;
  } catch {
    // the balance is a nicety here; the purchase is done
  }
  state.balance = balance;
  post({
    type: 'purchase_completed',
    session_id: sessionId,
    user_key: state.userKey!,
    balance,
    credits_added: creditsAdded,
  });
  showSuccess(creditsAdded, balance);
}

function logOut(): void {
  state.userKey = null;
  state.email = null;
  state.balance = null;
  state.pollToken += 1;
  post({ type: 'logged_out' });
  showAmounts({ notice: 'You are signed out.' });
}

// ---------------------------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------------------------

if (boot.problem) {
  showProblem(
    'Checkout unavailable',
    `${boot.problem.message} The site needs to check its Tollgate settings.`,
  );
  if (framedByHost()) {
    post({ type: 'ready' });
    reportError(boot.problem);
  }
} else if (!framedByHost()) {
  showProblem(
    'Checkout unavailable',
    'This page works only inside the Tollgate checkout on the site that opened it.',
  );
} else {
  root.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  post({ type: 'ready' });
  window.setTimeout(() => {
    if (!state.initialized)
      showProblem(
        'Checkout unavailable',
        'The page that opened the checkout did not answer. Reload it and try again.',
      );
  }, 8000);
}
