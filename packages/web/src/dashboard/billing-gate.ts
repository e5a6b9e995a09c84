/**
 * The billing gate (seed 000): a modal dialog that says what is missing before a generation can run
 * and offers the ways forward — Add credits, Add API keys (bring your own), Connect OpenRouter — and
 * the "Insufficient credits" toast with an Add credits action.
 *
 * Both render in a shadow root, so the same component drops into any app's page (`/billing-gate.js`)
 * without its styles leaking in or out. The dialog is a native <dialog> opened with showModal(): the
 * rest of the page becomes inert, Tab stays inside, Escape closes it, and focus returns to whatever
 * opened it.
 */
import { formatCredits, h, uid } from './dom.ts';

export type BillingGateReason = 'onboarding' | 'insufficient_credits' | 'no_keys' | (string & {});

export interface BillingGateOptions {
  /** Why the gate shows: first visit, or a generation that would be refused. */
  reason?: BillingGateReason;
  /** Credits the refused generation needed and what the customer had (from a 402's body). */
  required?: number;
  available?: number;
  /** Overrides the heading / explanation. */
  title?: string;
  message?: string;
  /** Each offered action appears only when its callback is given. */
  onAddCredits?: () => void;
  onAddKeys?: () => void;
  onConnectOpenRouter?: () => void;
  /** Called when the dialog closes without an action (Escape, "Not now"). */
  onDismiss?: () => void;
}

export interface BillingGateHandle {
  close(): void;
  readonly element: HTMLDialogElement;
}

const STYLES = `
:host{all:initial}
*,*::before,*::after{box-sizing:border-box}
dialog{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;border:0;border-radius:14px;
  padding:0;width:min(480px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:auto;box-shadow:0 20px 60px #0004}
dialog::backdrop{background:#0f172a99}
.body{padding:24px}
h2{font-size:20px;line-height:1.3;margin:0 0 8px}
p{margin:0 0 16px;color:#374151}
ul{list-style:none;margin:0 0 16px;padding:0;display:grid;gap:10px}
.option{display:flex;flex-direction:column;align-items:stretch;gap:2px;width:100%;text-align:left;padding:12px 14px;
  border:1px solid #d0d5dd;border-radius:10px;background:#fff;color:inherit;font:inherit;cursor:pointer}
.option strong{font-size:16px}
.option span{font-size:14px;color:#4b5563}
.option:hover{border-color:#4f46e5;background:#f5f5ff}
.option.primary{border-color:#4f46e5;background:#4f46e5;color:#fff}
.option.primary span{color:#e0e7ff}
.option.primary:hover{background:#4338ca}
button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.dismiss{background:none;border:0;color:#4b5563;font:inherit;padding:8px 4px;cursor:pointer;text-decoration:underline}
.toasts{position:fixed;z-index:2147483647;left:50%;bottom:16px;transform:translateX(-50%);display:grid;gap:8px;
  width:min(440px,calc(100vw - 24px));font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.toast{display:flex;align-items:center;gap:12px;padding:12px 14px;border-radius:10px;background:#1f2937;color:#fff;
  box-shadow:0 8px 24px #0003}
.toast.error{background:#991b1b}
.toast .text{flex:1}
.toast button{font:inherit;border-radius:8px;padding:6px 12px;cursor:pointer}
.toast .action{background:#fff;color:#111827;border:0;font-weight:600}
.toast .close{background:none;border:0;color:#fff;font-size:20px;line-height:1;padding:4px 8px}
`;

let gateHost: HTMLElement | null = null;
let toastHost: HTMLElement | null = null;
let current: BillingGateHandle | null = null;
/** Toasts asked for while the gate is open: shown when it closes, never on top of a modal dialog. */
let waitingToasts: (() => void)[] = [];

function shadowHost(tag: string): ShadowRoot {
  const host = document.createElement('div');
  host.setAttribute('data-tollgate', tag);
  document.body.append(host);
  const root = host.attachShadow({ mode: 'open' });
  root.append(h('style', null, STYLES));
  if (tag === 'billing-gate') gateHost = host;
  else toastHost = host;
  return root;
}

function explanation(options: BillingGateOptions): { title: string; message: string } {
  if (options.reason === 'insufficient_credits') {
    const numbers =
      options.required !== undefined && options.available !== undefined
        ? ` It needs ${formatCredits(options.required)} credits and you have ${formatCredits(options.available)}.`
        : '';
    return {
      title: 'Not enough credits for this generation',
      message: `Your balance doesn't cover this generation.${numbers} Add credits, or use your own provider keys — generations with your own key don't use credits.`,
    };
  }
  if (options.reason === 'onboarding') {
    return {
      title: 'Choose how to pay for generations',
      message:
        "You don't have credits or API keys yet. Buy credits, bring your own Fal.ai or OpenRouter key, or connect OpenRouter in one click.",
    };
  }
  return {
    title: 'Credits or API keys needed',
    message:
      'To generate, add credits or your own API keys. Generations with your own key are billed by the provider, not in credits.',
  };
}

/** Opens the gate (closing one already open). */
export function showBillingGate(options: BillingGateOptions = {}): BillingGateHandle {
  current?.close();
  const root = gateHost?.shadowRoot ?? shadowHost('billing-gate');
  const opener = document.activeElement as HTMLElement | null;
  const text = explanation(options);
  const titleId = uid('gate-title');
  const messageId = uid('gate-message');
  let acted = false;

  const option = (label: string, description: string, action: (() => void) | undefined, primary = false) => {
    if (!action) return null;
    const descriptionId = uid('gate-option');
    return h(
      'li',
      null,
      h(
        'button',
        {
          type: 'button',
          class: primary ? 'option primary' : 'option',
          'aria-describedby': descriptionId,
          onclick: () => {
            acted = true;
            handle.close();
            action();
          },
        },
        h('strong', null, label),
        h('span', { id: descriptionId }, description),
      ),
    );
  };

  const dialog = h(
    'dialog',
    { 'aria-labelledby': titleId, 'aria-describedby': messageId, 'data-testid': 'billing-gate' },
    h(
      'div',
      { class: 'body' },
      h('h2', { id: titleId }, options.title ?? text.title),
      h('p', { id: messageId }, options.message ?? text.message),
      h(
        'ul',
        null,
        option('Add credits', 'Buy credits with a card; they never expire.', options.onAddCredits, true),
        option(
          'Add API keys',
          'Use your own Fal.ai or OpenRouter key; no credits are used.',
          options.onAddKeys,
        ),
        option(
          'Connect OpenRouter',
          'Sign in to OpenRouter to create a key for language models.',
          options.onConnectOpenRouter,
        ),
      ),
      h('button', { type: 'button', class: 'dismiss', onclick: () => handle.close() }, 'Not now'),
    ),
  );

  const handle: BillingGateHandle = {
    element: dialog,
    close() {
      if (!dialog.isConnected) return;
      if (dialog.open) dialog.close();
      dialog.remove();
      if (current === handle) current = null;
      if (!acted) options.onDismiss?.();
      if (opener?.isConnected && typeof opener.focus === 'function') opener.focus();
      const toasts = waitingToasts;
      waitingToasts = [];
      // An action leads elsewhere (checkout, settings): the toast it answered is no longer news.
      if (!acted) for (const show of toasts) show();
    },
  };
  // Escape fires `cancel` then `close`; both end here.
  dialog.addEventListener('close', () => handle.close());
  root.append(dialog);
  dialog.showModal();
  (dialog.querySelector('button.option') as HTMLButtonElement | null)?.focus();
  current = handle;
  return handle;
}

export function closeBillingGate(): void {
  current?.close();
}

export interface ToastOptions {
  message: string;
  actionLabel?: string;
  onAction?: () => void;
  tone?: 'info' | 'error';
  /**
   * Milliseconds before it goes away by itself (paused while focus or the pointer is in it); 0 keeps
   * it. By default a toast with an action stays until dismissed: it asks the person to do something.
   */
  timeoutMilliseconds?: number;
}

/**
 * A toast in a polite live region at the bottom of the screen. One toast per message (the same
 * message again replaces the old one), and none while the billing gate is open: it waits until the
 * gate closes, so it never covers the dialog nor sits unreachable behind it.
 */
export function showToast(options: ToastOptions): { close(): void } {
  if (current) {
    let cancelled = false;
    let shown: { close(): void } | null = null;
    waitingToasts.push(() => {
      if (!cancelled) shown = showToast(options);
    });
    return {
      close() {
        cancelled = true;
        shown?.close();
      },
    };
  }
  const root = toastHost?.shadowRoot ?? shadowHost('toasts');
  let region = root.querySelector('.toasts');
  if (!region) {
    region = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    root.append(region);
  }
  for (const existing of Array.from(region.querySelectorAll<HTMLElement>('.toast')))
    if (existing.dataset.message === options.message) existing.remove();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const close = () => {
    clearTimeout(timer);
    toast.remove();
  };
  const toast = h(
    'div',
    { class: `toast ${options.tone ?? 'info'}`, 'data-testid': 'toast', 'data-message': options.message },
    h('span', { class: 'text' }, options.message),
    options.actionLabel && options.onAction
      ? h(
          'button',
          {
            type: 'button',
            class: 'action',
            onclick: () => {
              close();
              options.onAction!();
            },
          },
          options.actionLabel,
        )
      : null,
    h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', onclick: close }, '×'),
  );
  const timeout = options.timeoutMilliseconds ?? (options.actionLabel ? 0 : 10_000);
  const arm = () => {
    clearTimeout(timer);
    if (timeout > 0) timer = setTimeout(close, timeout);
  };
  toast.addEventListener('mouseenter', () => clearTimeout(timer));
  toast.addEventListener('focusin', () => clearTimeout(timer));
  toast.addEventListener('mouseleave', arm);
  toast.addEventListener('focusout', arm);
  region.append(toast);
  arm();
  return { close };
}

/** The seed's "Insufficient credits" toast. */
export function showInsufficientCreditsToast(onAddCredits: () => void): { close(): void } {
  return showToast({
    message: 'Insufficient credits',
    actionLabel: 'Add credits',
    onAction: onAddCredits,
    tone: 'error',
  });
}

/**
 * For a refused request: shows the gate and the toast when the answer is a 402 `insufficient_credits`
 * and returns true; false for anything else. Takes the parsed error body of a native endpoint.
 */
export function handleRefusal(status: number, body: unknown, options: BillingGateOptions): boolean {
  const error = (body as { error?: { code?: string; required?: number; available?: number } } | null)?.error;
  if (status !== 402 || (error?.code && error.code !== 'insufficient_credits')) return false;
  showBillingGate({
    ...options,
    reason: 'insufficient_credits',
    required: error?.required,
    available: error?.available,
  });
  if (options.onAddCredits) showInsufficientCreditsToast(options.onAddCredits);
  return true;
}
