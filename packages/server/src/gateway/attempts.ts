/**
 * Who a call may go to, in order, and with which key: a model's providers (its fallbacks), funded
 * either by the customer's own keys or by credits on the platform's keys — never a mix, so a BYOK
 * customer is never charged credits because their provider failed, and a credits customer is never
 * served on a key of theirs they did not mean for it.
 *
 * - BYOK: the customer has a key for one or more of the model's providers → only those are tried.
 * - Else, the customer has an OpenRouter key (seed 000: it pays for LLM calls) and this server has an
 *   OpenRouter provider → the model goes to OpenRouter on that key, under its OpenRouter id.
 * - Else credits: every provider of the model that is configured and has a platform key.
 *
 * Then `firstAnswer` tries them in order within a budget (attempts and seconds): a connection
 * failure, a timeout, a 5xx or a 429 before any byte reached the client moves to the next; anything
 * else (an answer, a 4xx the client caused, the client leaving) ends the search.
 */
import type { Price, ProviderConfig, TollgateConfig } from '../config/types.ts';
import type { CatalogModel } from '../pricing/catalog.ts';
import { dearestPrice, openRouterModelId } from '../pricing/model-routing.ts';
import { TollgateError } from '../shared/errors.ts';

export const OPENROUTER_PROVIDER = 'openrouter';

export interface Attempt {
  provider: ProviderConfig;
  upstreamModel: string;
  /** What this provider's answer costs (the capture's price when it answers). */
  price: Price;
  apiKey: string;
}

export interface AttemptPlan {
  funding: 'credits' | 'byok';
  attempts: Attempt[];
  /** Every price kind at its dearest among the attempts: the hold covers whichever answers. */
  holdPrice: Price;
}

export interface PlanInput {
  model: CatalogModel;
  config: Pick<TollgateConfig, 'providers'>;
  env: Record<string, string | undefined>;
  /** The customer's key for a provider, or null (`ProviderKeysService.fundingKey`). */
  customerKey(provider: string): Promise<string | null>;
}

/** The platform's key for a provider: the first of its variables that is set. */
export function platformKey(
  provider: ProviderConfig,
  env: Record<string, string | undefined>,
): string | undefined {
  for (const name of provider.apiKeyEnvs ?? [provider.apiKeyEnv]) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

export async function planAttempts(input: PlanInput): Promise<AttemptPlan> {
  const { model, config } = input;
  const byok: Attempt[] = [];
  for (const candidate of model.candidates) {
    const provider = config.providers[candidate.provider];
    if (!provider?.configured) continue;
    const key = await input.customerKey(candidate.provider);
    if (key)
      byok.push({ provider, upstreamModel: candidate.upstreamModel, price: candidate.price, apiKey: key });
  }
  if (byok.length === 0) {
    const openrouter = config.providers[OPENROUTER_PROVIDER];
    const key = openrouter?.configured ? await input.customerKey(OPENROUTER_PROVIDER) : null;
    if (openrouter && key) {
      byok.push({
        provider: openrouter,
        upstreamModel: openRouterModelId(model),
        price: model.price,
        apiKey: key,
      });
    }
  }
  if (byok.length > 0) return plan('byok', byok);

  const credits: Attempt[] = [];
  for (const candidate of model.candidates) {
    const provider = config.providers[candidate.provider];
    const key = provider?.configured ? platformKey(provider, input.env) : undefined;
    if (provider && key)
      credits.push({ provider, upstreamModel: candidate.upstreamModel, price: candidate.price, apiKey: key });
  }
  if (credits.length === 0) {
    throw new TollgateError('upstream_error', `The provider of ${model.id} is not configured on this server`);
  }
  return plan('credits', credits);
}

function plan(funding: 'credits' | 'byok', attempts: Attempt[]): AttemptPlan {
  return { funding, attempts, holdPrice: dearestPrice(attempts.map((attempt) => attempt.price)) };
}

/** Why an attempt did not answer; `retryable` ones move the call to the next provider. */
export interface AttemptFailure {
  kind: 'unreachable' | 'timeout' | 'status';
  status?: number;
  retryable: boolean;
  error: TollgateError;
}

export interface FallbackBudget {
  maxAttempts: number;
  maxSeconds: number;
  /** Milliseconds since some origin (the injected clock's, or performance.now). */
  now(): number;
}

/** A provider's status that says "try elsewhere": overloaded, rate limited, or broken. */
export function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Tries `attempts` in order until one answers: `send` returns the answer, or a failure saying
 * whether another provider may be tried. Stops at the budget (attempts, seconds since the first
 * try) and when `stopped()` (the client left). All failing: the last failure.
 */
export async function firstAnswer<T>(
  attempts: readonly Attempt[],
  budget: FallbackBudget,
  send: (attempt: Attempt) => Promise<{ ok: true; value: T } | { ok: false; failure: AttemptFailure }>,
  stopped: () => boolean,
): Promise<
  | { ok: true; value: T; attempt: Attempt; tried: number }
  | { ok: false; failure: AttemptFailure; tried: number }
> {
  const startedAt = budget.now();
  const limit = Math.min(attempts.length, Math.max(1, budget.maxAttempts));
  let last: AttemptFailure | null = null;
  let tried = 0;
  for (const attempt of attempts.slice(0, limit)) {
    if (tried > 0 && budget.now() - startedAt >= budget.maxSeconds * 1000) break;
    tried += 1;
    const result = await send(attempt);
    if (result.ok) return { ok: true, value: result.value, attempt, tried };
    last = result.failure;
    if (!result.failure.retryable || stopped()) break;
  }
  return {
    ok: false,
    tried,
    failure: last ?? {
      kind: 'unreachable',
      retryable: false,
      error: new TollgateError('upstream_error', 'No provider could be tried'),
    },
  };
}
