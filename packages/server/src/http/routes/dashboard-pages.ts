/**
 * The customer dashboard (`/dashboard/`), the partner view (`/partner/`) and the embeddable billing
 * gate (`/billing-gate.js`): small HTML shells around bundles built by DashboardAssets. Everything
 * the pages show comes from the JSON API with the signed-in key.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, BundleName, DashboardAssets } from '../../portal/dashboard-assets.ts';
import { TEST_MODE_BANNER } from '../../widget/pages.ts';

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // The components inject their stylesheet and the charts use inline SVG attributes.
  "style-src 'self' 'unsafe-inline'",
  // An app's logo (https only, set in its branding) is the one image from elsewhere.
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `testMode`: the server simulates payments, and every page says so above what the script renders. */
function shell(title: string, bundle: Bundle, path: string, testMode: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><meta name="referrer" content="no-referrer">
<style>body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f7f9;color:#1b1f24}</style>
</head><body>${testMode ? TEST_MODE_BANNER : ''}<div id="app"><p style="padding:24px">Loading…</p></div>
<noscript><p style="padding:24px">This page needs JavaScript.</p></noscript>
<script src="${path}?v=${bundle.hash}" defer></script></body></html>`;
}

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M9 10h14v3h-5.5v11h-3V13H9z" fill="#fff"/></svg>';

const FRONT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollgate</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f7f9;color:#1b1f24}
main{max-width:560px;margin:10vh auto;padding:0 20px}ul{padding:0;list-style:none;display:grid;gap:10px}
a{display:block;padding:14px 16px;background:#fff;border:1px solid #e3e6ea;border-radius:12px;color:#3730a3;font-weight:600;text-decoration:none}
a span{display:block;color:#4b5563;font-weight:400}a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}</style>
</head><body><main><h1>Tollgate</h1><p>Credits and billing for this app's AI generations.</p>
<nav aria-label="Pages"><ul>
<li><a href="/dashboard/">Your credits<span>Balance, purchases, usage, plans and keys.</span></a></li>
<li><a href="/partner/">Partner view<span>For the app: customers, revenue, gift codes and models.</span></a></li>
<li><a href="/docs">API reference<span>Every endpoint, with examples.</span></a></li>
</ul></nav></main></body></html>`;

function sendBundle(request: FastifyRequest, reply: FastifyReply, bundle: Bundle, cacheControl: string) {
  reply.header('content-type', 'text/javascript; charset=utf-8');
  reply.header('cache-control', cacheControl);
  reply.header('etag', `"${bundle.hash}"`);
  reply.header('vary', 'accept-encoding');
  reply.header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === `"${bundle.hash}"`) return reply.code(304).send();
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    reply.header('content-encoding', 'gzip');
    return reply.send(bundle.gzip);
  }
  return reply.send(bundle.code);
}

export function registerDashboardPages(
  http: FastifyInstance,
  assets: DashboardAssets,
  testMode: () => boolean = () => false,
): void {
  const page =
    (title: string, name: BundleName, scriptPath: string) =>
    async (_request: FastifyRequest, reply: FastifyReply) => {
      const bundle = await assets.get(name);
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
      return reply.send(shell(title, bundle, scriptPath, testMode()));
    };
  const script =
    (name: BundleName) =>
    async (request: FastifyRequest<{ Querystring: { v?: string } }>, reply: FastifyReply) => {
      const bundle = await assets.get(name);
      // A hashed URL never changes; anything else is revalidated.
      const immutable = request.query.v === bundle.hash;
      return sendBundle(
        request,
        reply,
        bundle,
        immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    };

  const dashboard = page('Credits — Tollgate', 'dashboard', '/dashboard/assets/dashboard.js');
  http.get('/dashboard', (_request, reply) => reply.redirect('/dashboard/', 308));
  http.get('/dashboard/', dashboard);
  // The OpenRouter OAuth callback lands on the dashboard, which finishes the flow with its key.
  http.get('/dashboard/openrouter/callback', dashboard);
  http.get('/dashboard/assets/dashboard.js', script('dashboard'));

  const partner = page('Partner — Tollgate', 'partner', '/partner/assets/partner.js');
  http.get('/partner', (_request, reply) => reply.redirect('/partner/', 308));
  http.get('/partner/', partner);
  http.get('/partner/assets/partner.js', script('partner'));

  // The server's own front door: where a person who opens the bare address can go.
  http.get('/', (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .send(FRONT_PAGE),
  );
  // Browsers ask for /favicon.ico on every page (the JSON API and /docs included).
  const favicon = (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .header('content-type', 'image/svg+xml')
      .header('cache-control', 'public, max-age=86400')
      .send(FAVICON);
  http.get('/favicon.svg', favicon);
  http.get('/favicon.ico', favicon);

  http.get('/billing-gate.js', async (request, reply) => {
    const bundle = await assets.get('billing-gate');
    reply.header('access-control-allow-origin', '*');
    reply.header('cross-origin-resource-policy', 'cross-origin');
    return sendBundle(request, reply, bundle, 'public, max-age=300');
  });
}
