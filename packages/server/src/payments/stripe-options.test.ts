import { describe, expect, it } from 'vitest';
import { stripeClientOptions } from './stripe-options.ts';

describe('stripeClientOptions', () => {
  it('returns nothing without a base URL, so the SDK talks to api.stripe.com', () => {
    expect(stripeClientOptions(undefined)).toEqual({});
    expect(stripeClientOptions('')).toEqual({});
    expect(stripeClientOptions('   ')).toEqual({});
  });

  it('splits an origin into host, port and protocol', () => {
    expect(stripeClientOptions('http://127.0.0.1:12111')).toEqual({
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
    expect(stripeClientOptions('http://127.0.0.1:12111/')).toEqual({
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
    expect(stripeClientOptions('https://stripe-mock.internal:8443/v1/')).toEqual({
      host: 'stripe-mock.internal',
      port: 8443,
      protocol: 'https',
    });
  });

  it('always passes a port, because the SDK would otherwise use 443 for http too', () => {
    expect(stripeClientOptions('http://localhost')).toEqual({
      host: 'localhost',
      port: 80,
      protocol: 'http',
    });
    expect(stripeClientOptions('https://api.stripe.com')).toEqual({
      host: 'api.stripe.com',
      port: 443,
      protocol: 'https',
    });
  });

  it('unwraps IPv6 literals', () => {
    expect(stripeClientOptions('http://[::1]:9000')).toEqual({ host: '::1', port: 9000, protocol: 'http' });
  });

  it('refuses what the SDK cannot express', () => {
    expect(() => stripeClientOptions('127.0.0.1:12111')).toThrow(/STRIPE_API_BASE/);
    expect(() => stripeClientOptions('ftp://127.0.0.1')).toThrow(/http or https/);
    expect(() => stripeClientOptions('http://127.0.0.1:1/stripe')).toThrow(/without a path/);
    expect(() => stripeClientOptions('http://127.0.0.1:1/?x=1')).toThrow(/query/);
    expect(() => stripeClientOptions('http://user:pass@127.0.0.1:1')).toThrow(/credentials/);
  });
});
