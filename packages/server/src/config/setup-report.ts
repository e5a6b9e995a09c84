/**
 * What a server is set up to do, in lines a person reads at start-up (and from
 * `tollgate config check`): providers reachable with a platform key, payments, Redis, the database —
 * and warnings for half-configurations that would otherwise only show as a 502 or an unpaid purchase
 * much later. Pure: the environment and config in, text out; nothing secret is ever printed.
 */
import type { TollgateConfig } from './types.ts';

export interface SetupReport {
  lines: string[];
  warnings: string[];
}

export interface SetupFacts {
  config: TollgateConfig;
  env: Record<string, string | undefined>;
  /** `PGlite at …` or `PostgreSQL at …`; left out by `config check`. */
  database?: string;
}

/** Where a database URL points, without user or password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `PostgreSQL at ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

export function describeSetup({ config, env, database }: SetupFacts): SetupReport {
  const lines: string[] = [];
  const warnings: string[] = [];
  lines.push(`Config: ${config.sourcePath ?? 'built-in defaults'} (${config.models.length} models)`);
  if (database) lines.push(`Database: ${database}`);

  const withKey: string[] = [];
  const byokOnly: string[] = [];
  const unconfigured: string[] = [];
  for (const provider of Object.values(config.providers)) {
    const key = env[provider.apiKeyEnv]?.trim();
    if (provider.configured) (key ? withKey : byokOnly).push(provider.name);
    else unconfigured.push(provider.name);
    const baseUrlEnv = `${provider.name.toUpperCase().replace(/-/g, '_')}_BASE_URL`;
    if (key && !provider.configured) {
      warnings.push(
        `${provider.apiKeyEnv} is set but provider "${provider.name}" has no base URL: its models answer 502 until ${baseUrlEnv} ` +
          `(or providers.${provider.name}.base_url) is set — ${suffixRule(provider.format)}.`,
      );
    }
    if (provider.configured) {
      const path = new URL(provider.baseUrl).pathname.replace(/\/+$/, '');
      if (provider.format === 'openai' && !/\/v\d+[a-z]*$/.test(path) && !path.endsWith('/openai')) {
        warnings.push(
          `provider "${provider.name}" base URL ${provider.baseUrl} does not end in a version (/v1): Tollgate appends /chat/completions to it — ${suffixRule('openai')}.`,
        );
      }
      if (provider.format === 'anthropic' && /\/v1$/.test(path)) {
        warnings.push(
          `provider "${provider.name}" base URL ${provider.baseUrl} ends in /v1: Tollgate appends /v1/messages to it — ${suffixRule('anthropic')}.`,
        );
      }
    }
  }
  lines.push(
    `Providers: ${withKey.length ? `${withKey.join(', ')} (platform key set)` : 'none with a platform key'}` +
      (byokOnly.length ? `; ${byokOnly.join(', ')} (base URL only: customers' own keys)` : '') +
      (unconfigured.length ? `; not configured: ${unconfigured.join(', ')}` : ''),
  );

  const stripeKey = Boolean(env.STRIPE_SECRET_KEY);
  const webhookSecret = Boolean(env.STRIPE_WEBHOOK_SECRET);
  if (stripeKey && !webhookSecret) {
    warnings.push(
      'STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: Stripe takes the money, but Tollgate refuses its webhooks, so purchases are never credited. Set STRIPE_WEBHOOK_SECRET (whsec_…).',
    );
  }
  if (webhookSecret && !stripeKey) {
    warnings.push(
      'STRIPE_WEBHOOK_SECRET is set without STRIPE_SECRET_KEY: Stripe is not used (test mode or payments off).',
    );
  }
  if (env.STRIPE_SECRET_KEY?.startsWith('sk_test_')) lines.push('Stripe: test keys (sk_test_…)');

  lines.push(
    env.REDIS_URL
      ? `Redis: ${describeRedisUrl(env.REDIS_URL)} (rate limits shared by every node)`
      : 'Redis: not set (rate limits are per process; set REDIS_URL when running several nodes)',
  );
  return { lines, warnings };
}

/** The base URL rules of each provider format (also in the README). */
function suffixRule(format: string): string {
  if (format === 'openai') return 'an OpenAI-format base URL includes the version, e.g. …/v1';
  if (format === 'anthropic') return 'an Anthropic-format base URL stops before /v1';
  return 'the base URL is the API root';
}

function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}`;
  } catch {
    return 'set';
  }
}
