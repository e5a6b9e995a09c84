/**
 * The HTML the widget iframe loads. The page is a shell: its script (widget.js) renders everything
 * from a boot document embedded as inert JSON, so the Content-Security-Policy can forbid inline
 * script. Framing is allowed from anywhere (the widget lives inside partners' sites); what the frame
 * may say to its parent is limited by the postMessage checks in widget-page.ts and sdk.ts.
 */
import type { WidgetConfigView } from './widget-service.ts';

export type CheckoutMode = 'embedded' | 'new_tab' | 'manual';

export interface WidgetBoot {
  publishable_key: string;
  host_origin: string;
  mode: CheckoutMode;
  amount: number | null;
  session_id: string | null;
  status: 'success' | 'cancelled' | null;
  config: WidgetConfigView | null;
  /** Why the widget cannot open (a bad publishable key): it says so, styled, and tells the host page. */
  problem?: { code: string; message: string };
}

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** JSON that cannot end its <script> element or break a line in old parsers. */
export function inertJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Stripe.js (Embedded Checkout) is the only outside origin, and only when Stripe is configured. */
export function widgetContentSecurityPolicy(stripe: boolean): string {
  const stripeScript = stripe ? ' https://js.stripe.com' : '';
  const stripeFrames = stripe ? ' https://js.stripe.com https://*.stripe.com' : '';
  const stripeConnect = stripe ? ' https://*.stripe.com' : '';
  return [
    "default-src 'self'",
    `script-src 'self'${stripeScript}`,
    `style-src 'self'${stripe ? " 'unsafe-inline'" : ''}`,
    `img-src 'self' data:${stripe ? ' https://*.stripe.com' : ''}`,
    `connect-src 'self'${stripeConnect}`,
    `frame-src 'self'${stripeFrames}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    'frame-ancestors *',
  ].join('; ');
}

export function widgetPage(boot: WidgetBoot, assets: { scriptHash: string; styleHash: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Buy credits${boot.config ? ` — ${escapeHtml(boot.config.app.name)}` : ''}</title>
<link rel="stylesheet" href="/widget/widget.css?v=${assets.styleHash}">
<script type="application/json" id="tollgate-boot">${inertJson(boot)}</script>
<script src="/widget/widget.js?v=${assets.scriptHash}" defer></script>
</head><body><main id="tollgate-widget" class="widget"><p class="loading">Loading…</p></main></body></html>`;
}

/** Where a checkout opened in its own tab lands: a note to go back to the app (the widget is polling). */
export function returnPage(status: 'success' | 'cancelled', testMode = false): string {
  const [title, text] =
    status === 'success'
      ? ['Payment received', 'Your credits are on their way. You can close this tab and return to the app.']
      : ['Payment cancelled', 'Nothing was charged. You can close this tab and return to the app.'];
  return simplePage(title, text, testMode);
}

/** The banner every page a test-mode server serves carries. */
export const TEST_MODE_BANNER =
  '<div role="note" data-testid="test-mode-banner" style="background:#b45309;color:#fff;text-align:center;font-weight:700;padding:8px 16px;letter-spacing:.05em">TEST MODE — payments are simulated; no real payment is taken</div>';

export function simplePage(title: string, text: string, testMode = false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#111827}
main{max-width:420px;margin:15vh auto;background:#fff;border-radius:14px;padding:28px;box-shadow:0 1px 4px #0002;text-align:center}
h1{font-size:22px;margin:0 0 8px}</style></head>
<body>${testMode ? TEST_MODE_BANNER : ''}<main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main></body></html>`;
}
