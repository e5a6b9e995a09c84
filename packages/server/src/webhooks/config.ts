/**
 * The dispatcher's settings from the environment (README "Webhooks"). Private targets — loopback,
 * private networks, link-local — are allowed by `TOLLGATE_WEBHOOK_PRIVATE_TARGETS=1`, refused by `0`;
 * unset, they are allowed only on a development server: one that listens on loopback alone, outside
 * `NODE_ENV=production` (the same rule that lets test mode sell).
 */
import { isLoopbackHost } from '../payments/test-mode.ts';
import { parseSmtpUrl } from '../widget/smtp.ts';
import { DEFAULT_DISPATCHER_OPTIONS, type DispatcherOptions } from './dispatcher.ts';
import { DEFAULT_RETRY_POLICY } from './retry-schedule.ts';

type Env = Record<string, string | undefined>;

export function privateTargetsFromEnv(env: Env, listeningAddresses: string[] | null): boolean {
  const text = env.TOLLGATE_WEBHOOK_PRIVATE_TARGETS?.trim().toLowerCase();
  if (text) {
    if (['1', 'true', 'yes', 'on', 'allow'].includes(text)) return true;
    if (['0', 'false', 'no', 'off', 'deny'].includes(text)) return false;
    throw new Error(
      `TOLLGATE_WEBHOOK_PRIVATE_TARGETS must be 1 or 0 (got "${env.TOLLGATE_WEBHOOK_PRIVATE_TARGETS}")`,
    );
  }
  if (env.NODE_ENV === 'production' || listeningAddresses === null || listeningAddresses.length === 0)
    return false;
  return listeningAddresses.every(isLoopbackHost);
}

function positive(env: Env, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive whole number (got "${text}")`);
  return value;
}

export function dispatcherOptionsFromEnv(env: Env, allowPrivateTargets: () => boolean): DispatcherOptions {
  const timeoutMilliseconds = positive(
    env,
    'TOLLGATE_WEBHOOK_TIMEOUT_MS',
    DEFAULT_DISPATCHER_OPTIONS.timeoutMilliseconds,
  );
  return {
    ...DEFAULT_DISPATCHER_OPTIONS,
    pollIntervalMilliseconds: positive(
      env,
      'TOLLGATE_WEBHOOK_POLL_MS',
      DEFAULT_DISPATCHER_OPTIONS.pollIntervalMilliseconds,
    ),
    timeoutMilliseconds,
    leaseMilliseconds: positive(env, 'TOLLGATE_WEBHOOK_LEASE_MS', timeoutMilliseconds + 30_000),
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: positive(env, 'TOLLGATE_WEBHOOK_MAX_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts),
      baseMilliseconds: positive(
        env,
        'TOLLGATE_WEBHOOK_RETRY_BASE_MS',
        DEFAULT_RETRY_POLICY.baseMilliseconds,
      ),
    },
    mail: env.SMTP_URL
      ? { settings: parseSmtpUrl(env.SMTP_URL), from: env.SMTP_FROM ?? 'Tollgate <no-reply@localhost>' }
      : null,
    allowPrivateTargets,
  };
}
