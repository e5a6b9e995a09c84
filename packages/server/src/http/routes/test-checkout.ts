/**
 * The test-mode payment provider's page (no Stripe keys configured): a clear TEST MODE banner and a Pay
 * button. Paying completes the purchase through PurchasesService.complete — the same fulfilment a
 * Stripe webhook uses — then returns to the success URL.
 */
import type { FastifyInstance } from 'fastify';
import type { PurchasesService } from '../../payments/purchases-service.ts';
import { centsToUsd } from '../../payments/compute.ts';
import { microsToCredits } from '../../shared/money.ts';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

export function registerTestCheckout(http: FastifyInstance, purchases: PurchasesService): void {
  http.get<{ Params: { id: string } }>('/checkout/test/:id', async (request, reply) => {
    const purchase = await purchases.bySession(request.params.id);
    reply.type('text/html; charset=utf-8');
    if (!purchase || purchase.provider !== 'test') return reply.code(404).send(page('Checkout not found', '<p>This checkout session does not exist.</p>'));
    const credits = microsToCredits(BigInt(purchase.credits_micros));
    const bonus = microsToCredits(BigInt(purchase.bonus_micros));
    const amount = centsToUsd(BigInt(purchase.amount_cents));
    const done = purchase.status !== 'pending';
    return page(
      `Pay $${amount.toFixed(2)}`,
      `<p class="amount">$${amount.toFixed(2)}</p>
       <p>${credits.toLocaleString('en-US')} credits${bonus > 0 ? ` <span class="bonus">(includes ${bonus.toLocaleString('en-US')} bonus)</span>` : ''}</p>
       ${done ? `<p role="status">This checkout is ${escape(purchase.status)}.</p>` : `<form method="post" action="/checkout/test/${escape(request.params.id)}/pay">
         <button type="submit" id="pay">Pay $${amount.toFixed(2)}</button></form>
         <form method="post" action="/checkout/test/${escape(request.params.id)}/cancel"><button type="submit" class="secondary" id="cancel">Cancel</button></form>`}`,
    );
  });

  http.post<{ Params: { id: string } }>('/checkout/test/:id/pay', async (request, reply) => {
    const purchase = await purchases.bySession(request.params.id);
    if (!purchase || purchase.provider !== 'test') return reply.code(404).send({ error: { code: 'not_found', message: 'No such checkout' } });
    // A cancelled checkout stays cancelled (as an expired Stripe session cannot be paid).
    if (purchase.status === 'failed') {
      return reply.code(409).send({ error: { code: 'invalid_state', message: 'This checkout was cancelled; start a new one' } });
    }
    await purchases.complete(purchase, { id: `evt_test_${request.params.id}`, type: 'checkout.session.completed' });
    const wantsJson = String(request.headers.accept ?? '').includes('application/json');
    if (wantsJson) return { status: 'completed', purchase: purchase.id };
    return reply.redirect(withSession(purchase.success_url ?? '/', request.params.id), 303);
  });

  http.post<{ Params: { id: string } }>('/checkout/test/:id/cancel', async (request, reply) => {
    const purchase = await purchases.bySession(request.params.id);
    if (!purchase || purchase.provider !== 'test') return reply.code(404).send({ error: { code: 'not_found', message: 'No such checkout' } });
    await purchases.fail(purchase);
    return reply.redirect(withSession(purchase.cancel_url ?? '/', request.params.id), 303);
  });
}

function withSession(url: string, sessionId: string): string {
  return url.replaceAll('{CHECKOUT_SESSION_ID}', sessionId);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} — Tollgate test checkout</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
.banner{background:#b45309;color:#fff;text-align:center;font-weight:700;padding:8px 56px;letter-spacing:.05em}
main{max-width:420px;margin:40px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 4px #0002}
.amount{font-size:32px;font-weight:700;margin:0}.bonus{color:#15803d}
button{width:100%;padding:12px;font-size:16px;border:0;border-radius:8px;background:#4f46e5;color:#fff;cursor:pointer;margin-top:12px}
button.secondary{background:#e5e7eb;color:#111}button:focus{outline:3px solid #f59e0b}</style></head>
<body><div class="banner" role="alert">TEST MODE — no real payment is taken</div><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}
