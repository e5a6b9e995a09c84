import { describe, expect, it } from 'vitest';
import {
  decidePaymentsMode,
  describePaymentsMode,
  isLoopbackHost,
  type PaymentsModeInputs,
  parseTestModeSwitch,
  paymentsModeFromEnvironment,
} from './test-mode.ts';

const local: PaymentsModeInputs = {
  stripeConfigured: false,
  testModeSwitch: null,
  production: false,
  listeningAddresses: ['127.0.0.1'],
  publicUrl: null,
};

describe('decidePaymentsMode', () => {
  it('keeps the zero-setup first run: no keys, loopback alone → test mode', () => {
    expect(decidePaymentsMode(local)).toEqual({ kind: 'test', reason: 'loopback' });
    expect(decidePaymentsMode({ ...local, listeningAddresses: ['127.0.0.1', '::1'] }).kind).toBe('test');
    expect(decidePaymentsMode({ ...local, publicUrl: 'http://localhost:8787' }).kind).toBe('test');
  });

  it('refuses beyond loopback, in production, behind a public URL, before listening', () => {
    expect(decidePaymentsMode({ ...local, listeningAddresses: ['0.0.0.0'] })).toEqual({
      kind: 'off',
      reason: 'not_loopback',
    });
    expect(decidePaymentsMode({ ...local, listeningAddresses: ['127.0.0.1', '10.0.0.5'] }).kind).toBe('off');
    expect(decidePaymentsMode({ ...local, listeningAddresses: ['::'] }).kind).toBe('off');
    expect(decidePaymentsMode({ ...local, production: true })).toEqual({ kind: 'off', reason: 'production' });
    expect(decidePaymentsMode({ ...local, publicUrl: 'https://pay.example.com' })).toEqual({
      kind: 'off',
      reason: 'public_url',
    });
    expect(decidePaymentsMode({ ...local, listeningAddresses: null }).kind).toBe('off');
  });

  it('the explicit switch turns it on anywhere, or off even on loopback', () => {
    const everywhere = { ...local, listeningAddresses: ['0.0.0.0'], production: true };
    expect(decidePaymentsMode({ ...everywhere, testModeSwitch: true })).toEqual({
      kind: 'test',
      reason: 'switch',
    });
    expect(decidePaymentsMode({ ...local, testModeSwitch: false })).toEqual({
      kind: 'off',
      reason: 'switched_off',
    });
  });

  it('Stripe keys win over everything: nothing of this changes Stripe', () => {
    expect(decidePaymentsMode({ ...local, stripeConfigured: true, testModeSwitch: true })).toEqual({
      kind: 'stripe',
    });
    expect(
      decidePaymentsMode({
        ...local,
        stripeConfigured: true,
        listeningAddresses: ['0.0.0.0'],
        production: true,
      }),
    ).toEqual({ kind: 'stripe' });
  });

  it('reads the environment: TOLLGATE_TEST_MODE over the config file, NODE_ENV, TOLLGATE_PUBLIC_URL', () => {
    expect(paymentsModeFromEnvironment({}, null, ['127.0.0.1']).kind).toBe('test');
    expect(paymentsModeFromEnvironment({ NODE_ENV: 'production' }, null, ['127.0.0.1']).kind).toBe('off');
    expect(paymentsModeFromEnvironment({ TOLLGATE_TEST_MODE: '1' }, false, ['0.0.0.0']).kind).toBe('test');
    expect(paymentsModeFromEnvironment({ TOLLGATE_TEST_MODE: '0' }, true, ['127.0.0.1']).kind).toBe('off');
    expect(paymentsModeFromEnvironment({}, true, ['0.0.0.0']).kind).toBe('test');
    expect(paymentsModeFromEnvironment({ STRIPE_SECRET_KEY: 'sk_test_x' }, null, ['0.0.0.0']).kind).toBe(
      'stripe',
    );
    expect(
      paymentsModeFromEnvironment({ TOLLGATE_PUBLIC_URL: 'https://credits.example' }, null, ['127.0.0.1'])
        .kind,
    ).toBe('off');
  });

  it('says what it decided in one line', () => {
    expect(describePaymentsMode({ kind: 'test', reason: 'loopback' })).toMatch(/^TEST MODE: /);
    expect(describePaymentsMode({ kind: 'off', reason: 'not_loopback' })).toMatch(
      /^Payments are OFF: .*TOLLGATE_TEST_MODE=1/,
    );
    expect(describePaymentsMode({ kind: 'stripe' })).toMatch(/Stripe/);
    for (const text of [describePaymentsMode({ kind: 'off', reason: 'production' })])
      expect(text).not.toContain('\n');
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['example.com', false],
    ['/tmp/tollgate.sock', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('parseTestModeSwitch', () => {
  it('reads on, off and unset, and refuses anything else', () => {
    for (const on of ['1', 'true', 'YES', ' on ']) expect(parseTestModeSwitch(on)).toBe(true);
    for (const off of ['0', 'false', 'no', 'off']) expect(parseTestModeSwitch(off)).toBe(false);
    expect(parseTestModeSwitch(undefined)).toBeNull();
    expect(parseTestModeSwitch('')).toBeNull();
    expect(() => parseTestModeSwitch('maybe')).toThrow(/TOLLGATE_TEST_MODE/);
  });
});
