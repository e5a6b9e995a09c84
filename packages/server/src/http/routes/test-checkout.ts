/**
 * The test-mode payment provider's page (no Stripe keys configured): a clear TEST MODE banner and a Pay
 * button. Paying completes the purchase through PurchasesService.complete — the same fulfilment a
 * Stripe webhook uses — or, for a plan, marks its charge paid and applies it; then returns to the
 * success URL.
 *
 * The page lives at `/checkout/test/{session}/{key}`, the URL handed to whoever created the checkout
 * (the buyer, or the app for them). The key is derived from the session id with the server's secret
 * (checkout-provider.ts): without it the page, Pay and Cancel answer 404, so nobody can pay (or cancel)
 * another customer's checkout by its id, and a cross-site form cannot post to it. The page never sends
 * the buyer to an origin the app does not allow (return-urls.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formatMoney } from '../../config/credit-rate.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { TestModeCheckout } from '../../payments/checkout-provider.ts';
import { centsToUsd } from '../../payments/compute.ts';
import type { PurchaseRow, PurchasesService } from '../../payments/purchases-service.ts';
import type { ReturnUrls } from '../../payments/return-urls.ts';
import { describePaymentsMode } from '../../payments/test-mode.ts';
import { TollgateError } from '../../shared/errors.ts';
import { microsToCredits } from '../../shared/money.ts';
import type {
  SubscriptionChargeRow,
  SubscriptionsService,
} from '../../subscriptions/subscriptions-service.ts';
import { escapeHtml } from '../../widget/pages.ts';

export interface TestCheckoutDeps {
  checkout: TestModeCheckout;
  purchases: PurchasesService;
  subscriptions: SubscriptionsService;
  customers: CustomersService;
  returnUrls: ReturnUrls;
}

type Params = { id: string; key: string };

/** What a page URL may hold: a session id and its key, nothing else reaches the database. */
const pageParams = z.object({ id: z.string().regex(/^[\w-]{1,100}$/), key: z.string().regex(/^[\w-]{32}$/) });

type Found =
  | { kind: 'purchase'; purchase: PurchaseRow }
  | { kind: 'charge'; charge: SubscriptionChargeRow; appId: string | null };

const usd = (cents: bigint) =>
  `$${centsToUsd(cents).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const credits = (micros: bigint) =>
  microsToCredits(micros).toLocaleString('en-US', { maximumFractionDigits: 6 });

export function registerTestCheckout(http: FastifyInstance, deps: TestCheckoutDeps): void {
  const { checkout, purchases, subscriptions } = deps;

  /** The session behind a URL, or null when it does not exist or the key is not its own. */
  const find = async (params: Params): Promise<Found | null> => {
    if (!pageParams.safeParse(params).success || !checkout.verifyPageKey(params.id, params.key)) return null;
    const purchase = await purchases.bySession(params.id);
    if (purchase?.provider === 'test') return { kind: 'purchase', purchase };
    const charge = await subscriptions.chargeBySession(params.id);
    if (!charge) return null;
    const customer = await deps.customers.get(charge.customer_id);
    return { kind: 'charge', charge, appId: customer.appId };
  };

  const wantsJson = (request: FastifyRequest) =>
    String(request.headers.accept ?? '').includes('application/json');

  const answer = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    title: string,
    message: string,
  ) => {
    if (wantsJson(request)) return reply.code(status).send({ error: { code, message } });
    return html(reply.code(status), page(title, `<p role="status">${escapeHtml(message)}</p>`));
  };

  /** Back to where the checkout said, when that is still an allowed origin; otherwise a plain page. */
  const returnTo = async (
    reply: FastifyReply,
    found: Found,
    url: string | null,
    sessionId: string,
    done: string,
  ) => {
    const appId = found.kind === 'purchase' ? found.purchase.app_id : found.appId;
    const target = url?.replaceAll('{CHECKOUT_SESSION_ID}', sessionId) ?? null;
    if (target && (await deps.returnUrls.allows(appId, target))) return reply.redirect(target, 303);
    return html(reply, page(done, `<p role="status">${escapeHtml(done)}. You can close this page.</p>`));
  };

  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    answer(request, reply, 404, 'not_found', 'Checkout not found', 'This checkout session does not exist.');

  http.get('/checkout/test/page.js', (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff')
      .send(PAGE_SCRIPT),
  );

  http.get<{ Params: Params }>('/checkout/test/:id/:key', async (request, reply) => {
    const found = await find(request.params);
    if (!found) return notFound(request, reply);
    const action = `/checkout/test/${encodeURIComponent(request.params.id)}/${encodeURIComponent(request.params.key)}`;
    const view = describe(found);
    const pending = view.status === 'pending';
    const closed = !checkout.enabled;
    return html(
      reply,
      page(
        view.title,
        `<p class="amount">${escapeHtml(view.amount)}</p>
         ${view.lines.map((line) => `<p>${line}</p>`).join('')}
         ${
           !pending
             ? `<p role="status">This checkout is ${escapeHtml(view.status)}.</p>`
             : closed
               ? `<p role="alert">${escapeHtml(describePaymentsMode(checkout.mode()))}</p>`
               : `<form method="post" action="${action}/pay"><button type="submit" id="pay">Pay ${escapeHtml(view.amount)}</button></form>
         <form method="post" action="${action}/cancel"><button type="submit" class="secondary" id="cancel">Cancel</button></form>`
         }`,
      ),
    );
  });

  http.post<{ Params: Params }>('/checkout/test/:id/:key/pay', async (request, reply) => {
    const found = await find(request.params);
    if (!found) return notFound(request, reply);
    try {
      checkout.assertCanSell();
    } catch (error) {
      const refusal = error as TollgateError;
      return answer(request, reply, refusal.status, refusal.code, 'Payments are off', refusal.message);
    }
    if (found.kind === 'purchase') {
      const { purchase } = found;
      // A cancelled checkout stays cancelled (as an expired Stripe session cannot be paid).
      if (purchase.status === 'failed') {
        return answer(
          request,
          reply,
          409,
          'invalid_state',
          'Checkout cancelled',
          'This checkout was cancelled; start a new one',
        );
      }
      await purchases.complete(purchase, {
        id: `evt_test_${request.params.id}`,
        type: 'checkout.session.completed',
      });
      if (wantsJson(request)) return { status: 'completed', purchase: purchase.id };
      return returnTo(reply, found, purchase.success_url, request.params.id, 'Payment received');
    }
    try {
      await subscriptions.payTestCharge(found.charge);
    } catch (error) {
      if (!(error instanceof TollgateError)) throw error;
      return answer(request, reply, error.status, error.code, 'Checkout not completed', error.message);
    }
    if (wantsJson(request)) return { status: 'completed', subscription: found.charge.subscription_id };
    return returnTo(reply, found, found.charge.success_url, request.params.id, 'Payment received');
  });

  http.post<{ Params: Params }>('/checkout/test/:id/:key/cancel', async (request, reply) => {
    const found = await find(request.params);
    if (!found) return notFound(request, reply);
    const outcome =
      found.kind === 'purchase'
        ? await purchases.fail(found.purchase)
        : await subscriptions.cancelTestCharge(found.charge);
    // Cancelling what was already paid changes nothing, and says so.
    if (!outcome.changed && outcome.status !== 'failed' && outcome.status !== 'cancelled') {
      return answer(
        request,
        reply,
        409,
        'invalid_state',
        'Already paid',
        `This checkout is already ${outcome.status}; nothing was cancelled and nothing changed`,
      );
    }
    if (wantsJson(request)) return { status: 'cancelled', changed: outcome.changed };
    const cancelUrl = found.kind === 'purchase' ? found.purchase.cancel_url : found.charge.cancel_url;
    return returnTo(reply, found, cancelUrl, request.params.id, 'Checkout cancelled');
  });

  // The unbound shapes of earlier versions: paying needs the checkout's own link.
  const unbound = (request: FastifyRequest, reply: FastifyReply) =>
    answer(
      request,
      reply,
      403,
      'forbidden',
      'Checkout link incomplete',
      "A test checkout is paid from its own link (the checkout's url), not by its id alone",
    );
  http.get('/checkout/test/:id', unbound);
  http.post('/checkout/test/:id/pay', unbound);
  http.post('/checkout/test/:id/cancel', unbound);
}

function describe(found: Found): { title: string; amount: string; status: string; lines: string[] } {
  if (found.kind === 'purchase') {
    const { purchase } = found;
    const bonus = BigInt(purchase.bonus_micros);
    return {
      title: `Pay ${formatMoney(BigInt(purchase.amount_cents), purchase.currency)}`,
      amount: formatMoney(BigInt(purchase.amount_cents), purchase.currency),
      status: purchase.status,
      lines: [
        `${credits(BigInt(purchase.credits_micros))} credits${bonus > 0n ? ` <span class="bonus">(includes ${credits(bonus)} bonus)</span>` : ''}`,
      ],
    };
  }
  const { charge } = found;
  const allowance = credits(BigInt(charge.allowance_micros));
  const status = charge.status === 'paid' ? 'completed' : charge.status;
  if (charge.kind === 'start') {
    return {
      title: `Start the ${charge.plan_code} plan`,
      amount: usd(BigInt(charge.amount_cents)),
      status,
      lines: [
        `${escapeHtml(charge.plan_code)} plan: ${allowance} credits of allowance each month, renewed monthly`,
      ],
    };
  }
  const until = charge.period_end ? new Date(charge.period_end).toISOString().slice(0, 10) : '';
  return {
    title: `Upgrade to the ${charge.plan_code} plan`,
    amount: usd(BigInt(charge.amount_cents)),
    status,
    lines: [
      `Prorated for the rest of this period: +${allowance} credits of allowance until ${escapeHtml(until)}`,
    ],
  };
}

function html(reply: FastifyReply, body: string) {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'",
    )
    .send(body);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} — Tollgate test checkout</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
.banner{background:#b45309;color:#fff;text-align:center;font-weight:700;padding:8px 56px;letter-spacing:.05em}
main{max-width:420px;margin:40px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 4px #0002}
.amount{font-size:32px;font-weight:700;margin:0}.bonus{color:#15803d}
button{width:100%;padding:12px;font-size:16px;border:0;border-radius:8px;background:#4f46e5;color:#fff;cursor:pointer;margin-top:12px}
button.secondary{background:#e5e7eb;color:#111}button:focus{outline:3px solid #f59e0b}</style>
<script src="/checkout/test/page.js" defer></script></head>
<body><div class="banner" role="alert">TEST MODE — no real payment is taken</div><main><h1 tabindex="-1">${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/**
 * The test page's keyboard: focus on Pay (a script, since autofocus is refused inside the widget's
 * cross-origin frame), and Escape cancels, as it closes the widget on every other step.
 */
const PAGE_SCRIPT = `(() => {
  const pay = document.getElementById('pay');
  (pay || document.querySelector('h1')).focus();
  document.addEventListener('keydown', (event) => {
    const cancel = document.getElementById('cancel');
    if (event.key === 'Escape' && cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
})();
`;
