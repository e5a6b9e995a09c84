/** Every endpoint of the contract: method, path, key, body and retry class of each SDK method. */
import { describe, expect, it } from 'vitest';
import { credits } from './amounts.ts';
import type { Tollgate } from './client.ts';
import { scriptedClient } from './stub-fetch.ts';

type Auth = 'secret' | 'user' | 'none';

interface EndpointCase {
  call: (client: Tollgate) => Promise<unknown>;
  method: string;
  path: string;
  auth: Auth;
  body?: string;
  idempotent?: boolean;
}

const cases: Record<string, EndpointCase> = {
  'apps.create': {
    call: (c) => c.apps.create({ name: 'Storyboard', referral_rate: 0.1, allowed_models: ['openai/gpt-4o'] }),
    method: 'POST',
    path: '/v1/apps',
    auth: 'secret',
    body: '{"name":"Storyboard","referral_rate":0.1,"allowed_models":["openai/gpt-4o"]}',
  },
  'apps.referralRate': {
    call: (c) => c.apps.referralRate(),
    method: 'GET',
    path: '/v1/partner/referral-rate',
    auth: 'secret',
  },
  'apps.setReferralRate': {
    call: (c) => c.apps.setReferralRate(0.15),
    method: 'PUT',
    path: '/v1/partner/referral-rate',
    auth: 'secret',
    body: '{"referral_rate":0.15}',
  },
  'customers.create': {
    call: (c) => c.customers.create({ external_id: 'user_42', email: 'ada@example.com' }),
    method: 'POST',
    path: '/v1/customers',
    auth: 'secret',
    body: '{"external_id":"user_42","email":"ada@example.com"}',
  },
  'customers.retrieve': {
    call: (c) => c.customers.retrieve('cus_1'),
    method: 'GET',
    path: '/v1/customers/cus_1',
    auth: 'secret',
  },
  'customers.grant': {
    call: (c) =>
      c.customers.grant('cus_1', {
        amount: '25.5',
        source: 'promo',
        expires_at: new Date('2026-12-31T00:00:00Z'),
      }),
    method: 'POST',
    path: '/v1/customers/cus_1/grants',
    auth: 'secret',
    body: '{"amount":25.5,"source":"promo","expires_at":"2026-12-31T00:00:00.000Z"}',
    idempotent: true,
  },
  'customers.createUserKey': {
    call: (c) => c.customers.createUserKey('cus_1'),
    method: 'POST',
    path: '/v1/customers/cus_1/user-keys',
    auth: 'secret',
  },
  'userKeys.create': {
    call: (c) => c.userKeys.create('cus_1', { name: 'CI', limit: { amount: '2.5', period: 'day' } }),
    method: 'POST',
    path: '/v1/customers/cus_1/user-keys',
    auth: 'secret',
    body: '{"name":"CI","limit":{"amount":2.5,"period":"day"}}',
  },
  'userKeys.list': {
    call: (c) => c.userKeys.list('cus_1'),
    method: 'GET',
    path: '/v1/customers/cus_1/user-keys',
    auth: 'secret',
  },
  'userKeys.update': {
    call: (c) => c.userKeys.update('cus_1', 'uk_1', { name: 'CI 2', limit: null }),
    method: 'PATCH',
    path: '/v1/customers/cus_1/user-keys/uk_1',
    auth: 'secret',
    body: '{"name":"CI 2","limit":null}',
  },
  'userKeys.revoke': {
    call: (c) => c.userKeys.revoke('cus_1', 'uk_1'),
    method: 'DELETE',
    path: '/v1/customers/cus_1/user-keys/uk_1',
    auth: 'secret',
  },
  'members.create': {
    call: (c) => c.members.create('org_1', { external_id: 'ada', limit: { amount: '2.5', period: 'month' } }),
    method: 'POST',
    path: '/v1/customers/org_1/members',
    auth: 'secret',
    body: '{"external_id":"ada","limit":{"amount":2.5,"period":"month"}}',
    idempotent: true,
  },
  'members.list': {
    call: (c) => c.members.list('org_1'),
    method: 'GET',
    path: '/v1/customers/org_1/members',
    auth: 'secret',
  },
  'members.retrieve': {
    call: (c) => c.members.retrieve('org_1', 'ada'),
    method: 'GET',
    path: '/v1/customers/org_1/members/ada',
    auth: 'secret',
  },
  'members.setLimit': {
    call: (c) => c.members.setLimit('org_1', 'mem_1', null),
    method: 'PATCH',
    path: '/v1/customers/org_1/members/mem_1',
    auth: 'secret',
    body: '{"limit":null}',
  },
  'members.createKey': {
    call: (c) => c.members.createKey('org_1', 'mem_1', { name: 'laptop' }),
    method: 'POST',
    path: '/v1/customers/org_1/members/mem_1/user-keys',
    auth: 'secret',
    body: '{"name":"laptop"}',
    idempotent: true,
  },
  'members.remove': {
    call: (c) => c.members.remove('org_1', 'mem_1'),
    method: 'DELETE',
    path: '/v1/customers/org_1/members/mem_1',
    auth: 'secret',
  },
  'spendLimits.retrieve': {
    call: (c) => c.spendLimits.retrieve('cus_1'),
    method: 'GET',
    path: '/v1/customers/cus_1/spend-limit',
    auth: 'secret',
  },
  'spendLimits.set': {
    call: (c) => c.spendLimits.set('cus_1', { amount: 100, period: 'month' }),
    method: 'PUT',
    path: '/v1/customers/cus_1/spend-limit',
    auth: 'secret',
    body: '{"amount":100,"period":"month"}',
  },
  'spendLimits.remove': {
    call: (c) => c.spendLimits.remove('cus_1'),
    method: 'DELETE',
    path: '/v1/customers/cus_1/spend-limit',
    auth: 'secret',
  },
  'customers.transactions': {
    call: (c) => c.customers.transactions('cus_1', { limit: 10, offset: 20 }),
    method: 'GET',
    path: '/v1/customers/cus_1/transactions?limit=10&offset=20',
    auth: 'secret',
  },
  'customers.transactions with pending': {
    call: (c) => c.customers.transactions('cus_1', { include_pending: true }),
    method: 'GET',
    path: '/v1/customers/cus_1/transactions?include_pending=true',
    auth: 'secret',
  },
  'customers.receipt': {
    call: (c) => c.customers.receipt('cus_1', 'pur_1'),
    method: 'GET',
    path: '/v1/customers/cus_1/receipts/pur_1',
    auth: 'secret',
  },
  'holds.create': {
    call: (c) =>
      c.holds.create({
        customer: 'cus_1',
        model: 'openai/gpt-4o',
        usage: { input_tokens: 100, output_tokens: 50 },
        run_id: 'run_1',
        max_run_cost: credits('2.5'),
      }),
    method: 'POST',
    path: '/v1/holds',
    auth: 'secret',
    body: '{"customer":"cus_1","model":"openai/gpt-4o","usage":{"input_tokens":100,"output_tokens":50},"run_id":"run_1","max_run_cost":2.5}',
    idempotent: true,
  },
  'holds.capture': {
    call: (c) => c.holds.capture('hold_1', { quantity: '6.5' }),
    method: 'POST',
    path: '/v1/holds/hold_1/capture',
    auth: 'secret',
    body: '{"quantity":6.5}',
    idempotent: true,
  },
  'holds.void': {
    call: (c) => c.holds.void('hold_1'),
    method: 'POST',
    path: '/v1/holds/hold_1/void',
    auth: 'secret',
    idempotent: true,
  },
  'holds.extend': {
    call: (c) => c.holds.extend('hold_1', { timeout_seconds: 1800 }),
    method: 'POST',
    path: '/v1/holds/hold_1/extend',
    auth: 'secret',
    body: '{"timeout_seconds":1800}',
    idempotent: true,
  },
  'holds.providerKey': {
    call: (c) => c.holds.providerKey('hold_1'),
    method: 'GET',
    path: '/v1/holds/hold_1/provider-key',
    auth: 'secret',
  },
  'charges.create': {
    call: (c) => c.charges.create({ customer: 'cus_1', model: 'fal-ai/flux/schnell', amount: 0.3 }),
    method: 'POST',
    path: '/v1/charges',
    auth: 'secret',
    body: '{"customer":"cus_1","model":"fal-ai/flux/schnell","amount":0.3}',
    idempotent: true,
  },
  'checkout.createSession': {
    call: (c) =>
      c.checkout.createSession({ customer: 'cus_1', amount_usd: '25.50', success_url: 'https://a/ok' }),
    method: 'POST',
    path: '/v1/checkout/sessions',
    auth: 'secret',
    body: '{"customer":"cus_1","amount_usd":25.50,"success_url":"https://a/ok"}',
    idempotent: true,
  },
  'giftCodes.create': {
    call: (c) => c.giftCodes.create({ amount: 100, count: 3, max_redemptions: 1 }),
    method: 'POST',
    path: '/v1/gift-codes',
    auth: 'secret',
    body: '{"amount":100,"count":3,"max_redemptions":1}',
    idempotent: true,
  },
  'giftCodes.redeem': {
    call: (c) => c.giftCodes.redeem({ code: 'GIFT-1' }),
    method: 'POST',
    path: '/v1/gift-codes/redeem',
    auth: 'user',
    body: '{"code":"GIFT-1"}',
    idempotent: true,
  },
  'providerKeys.set': {
    call: (c) => c.providerKeys.set('cus_1', 'fal', { key: 'fal-secret' }),
    method: 'PUT',
    path: '/v1/customers/cus_1/provider-keys/fal',
    auth: 'secret',
    body: '{"key":"fal-secret"}',
  },
  'providerKeys.get': {
    call: (c) => c.providerKeys.get('cus_1', 'fal'),
    method: 'GET',
    path: '/v1/customers/cus_1/provider-keys/fal',
    auth: 'secret',
  },
  'providerKeys.list': {
    call: (c) => c.providerKeys.list('cus_1'),
    method: 'GET',
    path: '/v1/customers/cus_1/provider-keys',
    auth: 'secret',
  },
  'providerKeys.remove': {
    call: (c) => c.providerKeys.remove('cus_1', 'fal'),
    method: 'DELETE',
    path: '/v1/customers/cus_1/provider-keys/fal',
    auth: 'secret',
  },
  'checkout.retrieveSession': {
    call: (c) => c.checkout.retrieveSession('cs_1'),
    method: 'GET',
    path: '/v1/checkout/sessions/cs_1',
    auth: 'secret',
  },
  'billing.catalog': {
    call: (c) => c.billing.catalog({ customer: 'cus_1' }),
    method: 'GET',
    path: '/v1/billing/catalog?customer=cus_1',
    auth: 'secret',
  },
  'subscriptions.start': {
    call: (c) => c.subscriptions.start('cus_1', { plan: 'pro' }),
    method: 'POST',
    path: '/v1/customers/cus_1/subscription',
    auth: 'secret',
    body: '{"plan":"pro"}',
    idempotent: true,
  },
  'subscriptions.change': {
    call: (c) => c.subscriptions.change('cus_1', { plan: 'studio' }),
    method: 'PATCH',
    path: '/v1/customers/cus_1/subscription',
    auth: 'secret',
    body: '{"plan":"studio"}',
    idempotent: true,
  },
  'subscriptions.cancel': {
    call: (c) => c.subscriptions.cancel('cus_1'),
    method: 'DELETE',
    path: '/v1/customers/cus_1/subscription',
    auth: 'secret',
    idempotent: true,
  },
  'credits.balance': {
    call: (c) => c.credits.balance(),
    method: 'GET',
    path: '/v1/credits/balance',
    auth: 'user',
  },
  'credits.history': {
    call: (c) => c.credits.history({ limit: 5 }),
    method: 'GET',
    path: '/v1/credits/history?limit=5',
    auth: 'user',
  },
  'credits.prices': {
    call: (c) => c.credits.prices({ type: 'video' }),
    method: 'GET',
    path: '/v1/credits/prices?type=video',
    auth: 'user',
  },
  'credits.app': {
    call: (c) => c.credits.app(),
    method: 'GET',
    path: '/v1/credits/app',
    auth: 'user',
  },
  'credits.pricing': {
    call: (c) =>
      c.credits.pricing({ publishable_key: 'tg_pk_1', models: ['openai/gpt-4o'], input_tokens: 1000 }),
    method: 'POST',
    path: '/v1/credits/pricing',
    auth: 'none',
    body: '{"publishable_key":"tg_pk_1","models":["openai/gpt-4o"],"input_tokens":1000}',
  },
  'models.list': { call: (c) => c.models.list(), method: 'GET', path: '/v1/models', auth: 'none' },
  'generations.create': {
    call: (c) => c.generations.create({ model: 'fal-ai/flux/schnell', input: { prompt: 'a lighthouse' } }),
    method: 'POST',
    path: '/v1/generations',
    auth: 'user',
    body: '{"model":"fal-ai/flux/schnell","input":{"prompt":"a lighthouse"}}',
    idempotent: true,
  },
  'generations.retrieve': {
    call: (c) => c.generations.retrieve('gen_1'),
    method: 'GET',
    path: '/v1/generations/gen_1',
    auth: 'user',
  },
  'purchases.list': {
    call: (c) => c.purchases.list('cus_1'),
    method: 'GET',
    path: '/v1/customers/cus_1/purchases',
    auth: 'secret',
  },
  audit: { call: (c) => c.audit(), method: 'GET', path: '/v1/admin/audit', auth: 'secret' },
};

describe('endpoints', () => {
  it.each(Object.entries(cases))('%s', async (_name, expected) => {
    const { client, calls } = scriptedClient([{ body: { data: [] } }], { userKey: 'tg_uk_user' });
    await expected.call(client);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    const url = new URL(call.url);
    expect(call.method).toBe(expected.method);
    expect(`${url.pathname}${url.search}`).toBe(expected.path);
    expect(call.body).toBe(expected.body);
    expect(call.headers.get('content-type')).toBe(expected.body === undefined ? null : 'application/json');
    expect(call.headers.get('authorization')).toBe(expected.auth === 'secret' ? 'Bearer tg_sk_secret' : null);
    expect(call.headers.get('x-user-key')).toBe(expected.auth === 'user' ? 'tg_uk_user' : null);
    expect(call.headers.has('idempotency-key')).toBe(expected.idempotent === true);
  });
});
