/**
 * When the test-mode payment provider may sell. Without Stripe keys, a Pay button grants credits that
 * nobody paid for: harmless on a developer's own machine, a give-away anywhere else. So test mode is on
 * by itself only while the server listens on loopback alone (and no public URL says otherwise); on any
 * other address, or with NODE_ENV=production, it needs the explicit switch (`TOLLGATE_TEST_MODE=1` or
 * `test_mode: true` in the config file), and otherwise the server refuses to sell. Pure: the caller
 * passes what it knows.
 */
import { isIP } from 'node:net';

export type PaymentsMode =
  | { kind: 'stripe' }
  | { kind: 'test'; reason: 'switch' | 'loopback' }
  | { kind: 'off'; reason: 'switched_off' | 'production' | 'not_loopback' | 'public_url' | 'not_listening' };

export interface PaymentsModeInputs {
  stripeConfigured: boolean;
  /** TOLLGATE_TEST_MODE, else the config file's `test_mode`: true on, false off, null unset. */
  testModeSwitch: boolean | null;
  production: boolean;
  /** The addresses the server is bound to; null before it listens. */
  listeningAddresses: string[] | null;
  /** TOLLGATE_PUBLIC_URL: where buyers reach the server (a proxy in front of a loopback listener). */
  publicUrl: string | null;
}

export function decidePaymentsMode(inputs: PaymentsModeInputs): PaymentsMode {
  if (inputs.stripeConfigured) return { kind: 'stripe' };
  if (inputs.testModeSwitch === true) return { kind: 'test', reason: 'switch' };
  if (inputs.testModeSwitch === false) return { kind: 'off', reason: 'switched_off' };
  if (inputs.production) return { kind: 'off', reason: 'production' };
  if (inputs.listeningAddresses === null || inputs.listeningAddresses.length === 0) {
    return { kind: 'off', reason: 'not_listening' };
  }
  if (!inputs.listeningAddresses.every(isLoopbackHost)) return { kind: 'off', reason: 'not_loopback' };
  if (inputs.publicUrl !== null && !isLoopbackUrl(inputs.publicUrl))
    return { kind: 'off', reason: 'public_url' };
  return { kind: 'test', reason: 'loopback' };
}

/** `TOLLGATE_TEST_MODE`: 1/true/yes/on, 0/false/no/off; unset or empty is no decision. */
export function parseTestModeSwitch(value: string | undefined): boolean | null {
  const text = value?.trim().toLowerCase();
  if (!text) return null;
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new Error(`TOLLGATE_TEST_MODE must be 1 or 0 (got "${value}")`);
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`; 0.0.0.0 and :: are every interface. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  const mapped = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  if (isIP(mapped) === 4) return mapped.split('.')[0] === '127';
  if (isIP(bare) === 6) return /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(bare);
  return false;
}

function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** The one line `tollgate serve` prints, and the message of a refused sale. */
export function describePaymentsMode(mode: PaymentsMode): string {
  switch (mode.kind) {
    case 'stripe':
      return 'Payments: Stripe Checkout (STRIPE_SECRET_KEY is set).';
    case 'test':
      return mode.reason === 'switch'
        ? 'TEST MODE: payments are simulated on a local checkout page and grant credits nobody paid for (TOLLGATE_TEST_MODE is on). Set STRIPE_SECRET_KEY to sell for real.'
        : 'TEST MODE: payments are simulated on a local checkout page (no Stripe keys; this server listens on loopback only). Set STRIPE_SECRET_KEY to sell for real.';
    case 'off':
      return `Payments are OFF: ${OFF_REASONS[mode.reason]} Set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET to sell, or TOLLGATE_TEST_MODE=1 to simulate payments anyway.`;
  }
}

const OFF_REASONS: Record<Extract<PaymentsMode, { kind: 'off' }>['reason'], string> = {
  switched_off: 'no Stripe keys, and TOLLGATE_TEST_MODE turns the test-mode provider off.',
  production: 'no Stripe keys, and NODE_ENV=production never simulates payments by itself.',
  not_loopback:
    'no Stripe keys, and this server listens beyond loopback, where a simulated payment would give credits away.',
  public_url:
    'no Stripe keys, and TOLLGATE_PUBLIC_URL is not a loopback address, where a simulated payment would give credits away.',
  not_listening: 'the server is not listening yet.',
};

/** The decision from the server's environment, its config file's `test_mode` and where it listens. */
export function paymentsModeFromEnvironment(
  env: Record<string, string | undefined>,
  configTestMode: boolean | null,
  listeningAddresses: string[] | null,
): PaymentsMode {
  const fromEnv = parseTestModeSwitch(env.TOLLGATE_TEST_MODE);
  return decidePaymentsMode({
    stripeConfigured: Boolean(env.STRIPE_SECRET_KEY),
    testModeSwitch: fromEnv ?? configTestMode,
    production: env.NODE_ENV === 'production',
    listeningAddresses,
    publicUrl: env.TOLLGATE_PUBLIC_URL?.trim() || null,
  });
}
