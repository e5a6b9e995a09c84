/**
 * `window.Tollgate`: the checkout SDK a host page loads from `<script src="https://tollgate.example/sdk.js">`.
 * It opens a modal holding the widget iframe (served by the same Tollgate), keeps the visitor's user
 * key in localStorage, and turns the widget's messages into the host's callbacks. No framework, no
 * dependencies: the whole file is a few kilobytes gzipped.
 *
 * @example
 * ```html
 * <script src="https://tollgate.example/sdk.js"></script>
 * <script>
 *   Tollgate.init({
 *     publishableKey: 'tg_pk_…',
 *     onPurchaseCompleted({ user_key, balance, credits_added }) { saveKey(user_key); },
 *   });
 *   buyButton.onclick = () => Tollgate.open({ amount: 25 });
 * </script>
 * ```
 */
import {
  type CheckoutMode,
  type ErrorInfo,
  envelope,
  type HostMessage,
  isEnvelope,
  type WidgetMessage,
} from './protocol.ts';

export interface TollgateInitOptions {
  /** Required: the app's publishable key (`tg_pk_…`). */
  publishableKey: string;
  /** The Tollgate server. Default: the origin this script was loaded from. */
  baseUrl?: string;
  /** The currency the widget sells in (`'eur'`), one the server's config prices; default USD. */
  currency?: string;
  /** `embedded` (default): pay inside the modal; `new_tab`: pay in a new tab while the modal waits; `manual`: you open the checkout URL. */
  checkoutMode?: CheckoutMode;
  onPurchaseCompleted?: (data: { user_key: string; balance: number; credits_added: number }) => void;
  onLoginCompleted?: (data: { user_key: string; balance: number }) => void;
  onCheckoutOpened?: (data: { session_id: string; user_key: string; checkout_url?: string }) => void;
  onPurchaseError?: (data: { error: ErrorInfo }) => void;
  onError?: (data: { error: ErrorInfo }) => void;
  onComplete?: (data: { user_key: string; balance: number; credits_added: number }) => void;
  onLoggedOut?: () => void;
}

export interface TollgateOpenOptions {
  /** Preselected amount in dollars; the visitor can still change it. */
  amount?: number;
}

export interface TollgateApi {
  init(options: TollgateInitOptions): void;
  open(options?: TollgateOpenOptions): void;
  close(): void;
  getUserKey(): string | null;
  readonly version: string;
}

declare global {
  interface Window {
    Tollgate: TollgateApi;
  }
}

const CSS = `
.backdrop{position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;padding:16px;box-sizing:border-box;background:rgba(17,24,39,.55)}
.dialog{position:relative;width:100%;max-width:440px;height:720px;max-height:calc(100vh - 32px);background:#fff;border-radius:16px;box-shadow:0 24px 64px rgba(0,0,0,.35);overflow:hidden}
iframe{display:block;width:100%;height:100%;border:0}
.close{position:absolute;top:12px;right:12px;width:36px;height:36px;padding:0;border:0;border-radius:50%;background:#f3f4f6;color:#111827;font:22px/36px system-ui,sans-serif;cursor:pointer}
.close:hover{background:#e5e7eb}.close:focus-visible{outline:3px solid #4f46e5;outline-offset:2px}
.edge{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (max-width:480px){.backdrop{padding:0}.dialog{max-width:none;height:100%;max-height:none;border-radius:0}}
`;

const VERSION = '0.1.0';
const currentScript = document.currentScript as HTMLScriptElement | null;
const scriptOrigin = currentScript?.src ? new URL(currentScript.src, location.href).origin : null;

interface OpenModal {
  host: HTMLElement;
  dialog: HTMLElement;
  frame: HTMLIFrameElement;
  closeButton: HTMLButtonElement;
  restoreFocus: Element | null;
  restoreOverflow: string;
  /** The purchase whose success screen is showing: closing it counts as dismissing it (onComplete). */
  completed: { user_key: string; balance: number; credits_added: number } | null;
  detach(): void;
}

let settings: TollgateInitOptions | null = null;
let tollgateOrigin = '';
let modal: OpenModal | null = null;
/** Where the key lives when localStorage is unavailable (private modes, blocked storage). */
let memoryKey: string | null = null;

const storageName = () => `tollgate:user_key:${settings?.publishableKey ?? ''}`;

function readUserKey(): string | null {
  try {
    return localStorage.getItem(storageName()) ?? memoryKey;
  } catch {
    return memoryKey;
  }
}

function writeUserKey(key: string | null): void {
  memoryKey = key;
  try {
    if (key) localStorage.setItem(storageName(), key);
    else localStorage.removeItem(storageName());
  } catch {
    // storage refused: the in-memory copy serves this page
  }
}

/** A host callback that throws must not break the SDK. */
function notify<Name extends keyof TollgateInitOptions>(name: Name, data?: unknown): void {
  const callback = settings?.[name];
  if (typeof callback !== 'function') return;
  try {
    (callback as (value?: unknown) => void)(data);
  } catch (error) {
    console.error(`[Tollgate] ${name} callback threw`, error);
  }
}

function reportError(error: ErrorInfo): void {
  notify('onError', { error });
}

function send(message: HostMessage): void {
  modal?.frame.contentWindow?.postMessage(envelope(message), tollgateOrigin);
}

function init(options: TollgateInitOptions): void {
  if (!options || typeof options.publishableKey !== 'string' || !options.publishableKey) {
    throw new Error('Tollgate.init: publishableKey is required');
  }
  const base = options.baseUrl ?? scriptOrigin;
  if (!base)
    throw new Error('Tollgate.init: baseUrl is required when sdk.js is not loaded from a Tollgate server');
  if (modal) closeModal(false);
  settings = { ...options, checkoutMode: options.checkoutMode ?? 'embedded' };
  tollgateOrigin = new URL(base, location.href).origin;
}

function open(options: TollgateOpenOptions = {}): void {
  if (!settings) throw new Error('Tollgate.open: call Tollgate.init({ publishableKey }) first');
  if (modal) return;
  if (location.origin === 'null') {
    reportError({
      code: 'unsupported_origin',
      message: 'The checkout needs a page served over http(s), not a file.',
    });
    return;
  }
  const source = new URL('/widget/checkout', tollgateOrigin);
  source.searchParams.set('pk', settings.publishableKey);
  source.searchParams.set('origin', location.origin);
  source.searchParams.set('mode', settings.checkoutMode ?? 'embedded');
  if (typeof settings.currency === 'string' && settings.currency) {
    source.searchParams.set('currency', settings.currency.toLowerCase());
  }
  if (typeof options.amount === 'number' && Number.isFinite(options.amount) && options.amount > 0) {
    source.searchParams.set('amount', String(Math.round(options.amount * 100) / 100));
  }

  const host = document.createElement('div');
  host.setAttribute('data-tollgate', 'checkout');
  const shadow = host.attachShadow({ mode: 'open' });
  // A constructed sheet is not inline style, so a strict host CSP does not block it.
  if (
    'adoptedStyleSheets' in shadow &&
    typeof CSSStyleSheet === 'function' &&
    'replaceSync' in CSSStyleSheet.prototype
  ) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = CSS;
    shadow.append(style);
  }
  const backdrop = element('div', { class: 'backdrop' });
  const dialog = element('div', {
    class: 'dialog',
    role: 'dialog',
    'aria-modal': 'true',
    'aria-label': 'Buy credits',
  });
  const startEdge = element('span', { class: 'edge', tabindex: '0' });
  const endEdge = element('span', { class: 'edge', tabindex: '0' });
  const closeButton = element('button', {
    class: 'close',
    type: 'button',
    'aria-label': 'Close',
  }) as HTMLButtonElement;
  closeButton.textContent = '×';
  const frame = element('iframe', {
    title: 'Buy credits',
    allow: 'payment',
    src: source.href,
  }) as HTMLIFrameElement;
  dialog.append(startEdge, frame, closeButton, endEdge);
  backdrop.append(dialog);
  shadow.append(backdrop);

  // Focus stays in the modal: Tab past the end wraps to the widget's first control, Shift+Tab
  // before the start to the close button; focus landing anywhere else on the page comes back.
  const onStartEdge = () => closeButton.focus();
  const onEndEdge = () => {
    frame.focus();
    send({ type: 'focus', position: 'first' });
  };
  startEdge.addEventListener('focus', onStartEdge);
  endEdge.addEventListener('focus', onEndEdge);
  closeButton.addEventListener('click', () => closeModal(true));
  const onFocusIn = (event: FocusEvent) => {
    if (event.target !== host) onEndEdge();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      closeModal(true);
    }
  };
  document.addEventListener('focusin', onFocusIn, true);
  document.addEventListener('keydown', onKeyDown, true);

  const root = document.documentElement;
  modal = {
    host,
    dialog,
    frame,
    closeButton,
    restoreFocus: document.activeElement,
    restoreOverflow: root.style.overflow,
    completed: null,
    detach() {
      document.removeEventListener('focusin', onFocusIn, true);
      document.removeEventListener('keydown', onKeyDown, true);
    },
  };
  root.style.overflow = 'hidden';
  document.body.append(host);
  frame.focus();
}

function closeModal(byUser: boolean): void {
  const current = modal;
  if (!current) return;
  modal = null;
  current.detach();
  current.host.remove();
  document.documentElement.style.overflow = current.restoreOverflow;
  if (current.restoreFocus instanceof HTMLElement) current.restoreFocus.focus();
  if (byUser && current.completed) notify('onComplete', current.completed);
}

function element(name: string, attributes: Record<string, string>): HTMLElement {
  const node = document.createElement(name);
  for (const [attribute, value] of Object.entries(attributes)) node.setAttribute(attribute, value);
  return node;
}

window.addEventListener('message', (event: MessageEvent) => {
  // Only our own iframe, at the Tollgate origin, is listened to.
  if (!modal || event.source !== modal.frame.contentWindow || event.origin !== tollgateOrigin) return;
  if (!isEnvelope(event.data)) return;
  const message = event.data as unknown as WidgetMessage;
  switch (message.type) {
    case 'ready':
      send({ type: 'init', user_key: readUserKey() });
      // The widget focuses its own first control as it renders; the frame must hold focus for that.
      if (document.activeElement === document.body) modal.frame.focus();
      break;
    case 'session':
      writeUserKey(typeof message.user_key === 'string' ? message.user_key : null);
      break;
    case 'login_completed':
      writeUserKey(message.user_key);
      notify('onLoginCompleted', { user_key: message.user_key, balance: message.balance });
      break;
    case 'checkout_opened': {
      const manual = settings?.checkoutMode === 'manual';
      notify('onCheckoutOpened', {
        session_id: message.session_id,
        user_key: message.user_key,
        ...(manual && message.checkout_url ? { checkout_url: message.checkout_url } : {}),
      });
      // Manual mode hands the checkout to the host page: the modal's part is done.
      if (manual) closeModal(false);
      break;
    }
    case 'purchase_completed': {
      const data = {
        user_key: message.user_key,
        balance: message.balance,
        credits_added: message.credits_added,
      };
      writeUserKey(message.user_key);
      modal.completed = data;
      notify('onPurchaseCompleted', data);
      break;
    }
    case 'purchase_error':
      notify('onPurchaseError', { error: message.error });
      reportError(message.error);
      break;
    case 'error':
      reportError(message.error);
      break;
    case 'complete': {
      const data = {
        user_key: message.user_key,
        balance: message.balance,
        credits_added: message.credits_added,
      };
      modal.completed = null;
      closeModal(false);
      notify('onComplete', data);
      break;
    }
    case 'logged_out':
      writeUserKey(null);
      notify('onLoggedOut');
      break;
    case 'close':
      closeModal(true);
      break;
  }
});

window.Tollgate = {
  init,
  open,
  close: () => closeModal(false),
  getUserKey: () => (settings ? readUserKey() : null),
  version: VERSION,
};
