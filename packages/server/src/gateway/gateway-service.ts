/**
 * The OpenAI- and Anthropic-compatible gateway. Every request is metered so that it cannot overdraw:
 * the worst case (counted input + max_tokens of output) is held before the upstream call — lowered to
 * what the balance affords when needed — and the exact cost from the provider's usage is captured after
 * it. Usage above the hold is charged from the available balance; only what even that cannot cover is
 * written off (sys:loss). Upstream errors and empty answers are voided (free); a client that disconnects
 * pays for what was generated. Every hold is resolved in `finally`.
 */
import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type App, type AppsService, referralAccountId } from '../apps/apps-service.ts';
import type { KeyStore } from '../auth/principals.ts';
import type { ProviderKeysService } from '../byok/provider-keys.ts';
import type { ModelConfig, ProviderConfig, TollgateConfig } from '../config/types.ts';
import type { Metrics } from '../http/metrics.ts';
import { authenticate } from '../http/route.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Catalog } from '../pricing/catalog.ts';
import { maxOutputTokensAffordable, quote } from '../pricing/quote.ts';
import { type MemoryRateLimiter, type RateLimiter, takeCustomerRequest } from '../ratelimit/rate-limiter.ts';
import { TollgateError } from '../shared/errors.ts';
import {
  type ApiFormat,
  type ClientRequest,
  countRequestTokens,
  createStreamTranslator,
  isRecord,
  SseParser,
  translateRequest,
  translateResponse,
  type UpstreamResponse,
  type Usage,
  UsageAccumulator,
  usageFromResponse,
} from './formats/index.ts';
import { upstreamStreamError } from './formats/stream-translator.ts';
import { countTextTokens } from './formats/tokens.ts';
import type { Upstreams } from './upstreams.ts';

/** The smallest answer worth lowering `max_tokens` to; below it the request is refused with 402. */
const MINIMUM_OUTPUT_TOKENS = 16;
const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const ANTHROPIC_VERSION = '2023-06-01';

export interface GatewayDeps {
  config: TollgateConfig;
  catalog: Catalog;
  apps: AppsService;
  keys: KeyStore;
  providerKeys: ProviderKeysService;
  ledger: Ledger;
  metrics: Metrics;
  upstreams: Upstreams;
  rateLimiter: RateLimiter | MemoryRateLimiter;
  env: Record<string, string | undefined>;
  holdTimeoutSeconds?: number;
}

interface Metering {
  holdId: string;
  funding: 'credits' | 'byok';
  resolved: boolean;
}

export class GatewayService {
  constructor(private readonly deps: GatewayDeps) {}

  async handle(format: ApiFormat, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { deps } = this;
    const principal = await authenticate(deps.keys, request.headers, ['user']);
    if (principal.kind !== 'user') throw new TollgateError('forbidden', 'A user key is required');
    await this.rateLimit(principal.customerId);

    const body = request.body;
    if (!isRecord(body)) throw new TollgateError('invalid_request', 'Request body must be a JSON object');
    if (typeof body.model !== 'string' || body.model.length === 0) {
      throw new TollgateError('invalid_request', 'model is required', { param: 'model' });
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new TollgateError('invalid_request', 'messages must be a non-empty array', { param: 'messages' });
    }
    const requestedMax = readMaxTokens(body);
    const stream = body.stream === true;

    const app = principal.appId ? await deps.apps.get(principal.appId) : null;
    const model = deps.catalog.require(body.model, { strict: true });
    if (app) deps.apps.assertModelAllowed(app, model.id);
    if (
      model.price.outputPerMillionMicros === null &&
      model.price.inputPerMillionMicros === null &&
      model.type !== 'language'
    ) {
      throw new TollgateError('invalid_request', `${model.id} is not a chat model`, { param: 'model' });
    }
    const provider = deps.config.providers[model.provider];
    if (!provider) throw new TollgateError('upstream_error', `No provider configured for ${model.id}`);
    if (provider.format === 'fal') {
      throw new TollgateError('invalid_request', `${model.id} is a media model: use POST /v1/generations`, {
        param: 'model',
      });
    }
    const upstreamFormat: ApiFormat = provider.format;

    const customerKey = await deps.providerKeys.fundingKey(principal.customerId, app, model.provider);
    const apiKey = customerKey ?? (provider.apiKeyEnv ? deps.env[provider.apiKeyEnv] : undefined);
    if (!provider.configured || !apiKey) {
      throw new TollgateError(
        'upstream_error',
        `The provider of ${model.id} is not configured on this server`,
      );
    }

    const inputTokens = countRequestTokens(format, body as unknown as ClientRequest);
    const modelMax = model.maxTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    let maxTokens = Math.min(requestedMax ?? modelMax, modelMax);
    const ratePpm = app?.referralRatePpm ?? 0n;
    const metering = await this.hold({
      customerId: principal.customerId,
      model,
      inputTokens,
      maxTokens,
      ratePpm,
      funding: customerKey ? 'byok' : 'credits',
      onLowered: (lowered) => {
        reply.header('x-tollgate-max-tokens-lowered', `${maxTokens}->${lowered}`);
        maxTokens = lowered;
      },
    });

    const outgoing = { ...body } as Record<string, unknown>;
    if (format === 'openai') {
      if (outgoing.max_completion_tokens !== undefined) outgoing.max_completion_tokens = maxTokens;
      else outgoing.max_tokens = maxTokens;
    } else {
      outgoing.max_tokens = maxTokens;
    }
    const upstreamBody = translateRequest(format, upstreamFormat, outgoing as unknown as ClientRequest, {
      upstreamModel: model.upstreamModel,
      defaultMaxTokens: maxTokens,
      maxTokensField: 'max_tokens',
    });
    const context: CallContext = {
      format,
      provider,
      upstreamFormat,
      apiKey,
      model,
      app,
      ratePpm,
      customerId: principal.customerId,
      inputTokens,
      metering,
      clientModel: body.model,
      stream,
      includeUsage: isRecord(body.stream_options) && body.stream_options.include_usage === true,
      anthropicVersion:
        typeof request.headers['anthropic-version'] === 'string'
          ? request.headers['anthropic-version']
          : ANTHROPIC_VERSION,
    };
    reply.header('x-tollgate-hold', metering.holdId);
    try {
      if (stream) {
        await this.streamCall(context, upstreamBody, request, reply);
        return reply;
      }
      return await this.plainCall(context, upstreamBody, request, reply);
    } finally {
      if (!metering.resolved) await this.void(metering, 'unresolved');
    }
  }

  /** The customer's one bucket, shared with every native user-key route (http/route.ts). */
  private async rateLimit(customerId: string): Promise<void> {
    await takeCustomerRequest(this.deps.rateLimiter, customerId);
  }

  /** Holds the worst case; if the balance cannot cover it, lowers max_tokens to what it affords. */
  private async hold(input: {
    customerId: string;
    model: ModelConfig;
    inputTokens: number;
    maxTokens: number;
    ratePpm: bigint;
    funding: 'credits' | 'byok';
    onLowered(lowered: number): void;
  }): Promise<Metering> {
    const { ledger } = this.deps;
    const place = (outputTokens: number) =>
      ledger.hold({
        customerId: input.customerId,
        amountMicros: quote(
          input.model,
          { usage: { input_tokens: input.inputTokens, output_tokens: outputTokens } },
          input.ratePpm,
        ).totalMicros,
        model: input.model.id,
        provider: input.model.provider,
        funding: input.funding,
        timeoutSeconds: this.deps.holdTimeoutSeconds ?? 900,
      });
    let result = await place(input.maxTokens);
    if (!result.ok && result.error.code === 'insufficient_credits') {
      const available = BigInt(String(result.error.details.available ?? '0'));
      const budget = maxOutputTokensAffordable(
        input.model,
        { input_tokens: input.inputTokens },
        available,
        input.ratePpm,
      );
      const minimum = Math.min(MINIMUM_OUTPUT_TOKENS, input.maxTokens);
      if (budget.affordable && budget.maxOutputTokens !== null && budget.maxOutputTokens >= BigInt(minimum)) {
        const lowered = Number(
          budget.maxOutputTokens < BigInt(input.maxTokens) ? budget.maxOutputTokens : BigInt(input.maxTokens),
        );
        result = await place(lowered);
        if (result.ok) input.onLowered(lowered);
      }
    }
    if (!result.ok) {
      if (result.error.code === 'insufficient_credits')
        this.deps.metrics.gatewayRequests.inc({ outcome: 'insufficient_credits' });
      throw result.error;
    }
    this.deps.metrics.holds.inc({ funding: result.value.funding });
    return { holdId: result.value.id, funding: result.value.funding, resolved: false };
  }

  private async capture(context: CallContext, usage: Usage, reported: boolean): Promise<void> {
    const { metering } = context;
    const cost = quote(context.model, { usage }, context.ratePpm);
    metering.resolved = true;
    const result = await this.deps.ledger.capture({
      holdId: metering.holdId,
      amountMicros: cost.totalMicros,
      overrun: 'charge_available',
      referralShareMicros: cost.referralShareMicros > 0n ? cost.referralShareMicros : undefined,
      referralAccount:
        cost.referralShareMicros > 0n && context.app ? referralAccountId(context.app.id) : undefined,
      metadata: {
        endpoint: context.format === 'openai' ? 'chat.completions' : 'messages',
        stream: context.stream,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cached_input_tokens: usage.cached_input_tokens,
        usage_reported: reported,
        funding: metering.funding,
      },
    });
    if (!result.ok) throw result.error;
    this.deps.metrics.captures.inc();
  }

  private async void(metering: Metering, reason: string): Promise<void> {
    metering.resolved = true;
    await this.deps.ledger.void({ holdId: metering.holdId, reason });
    this.deps.metrics.voids.inc({ reason });
  }

  private upstreamRequest(context: CallContext, body: unknown, signal: AbortSignal) {
    const { provider } = context;
    const endpoint = provider.format === 'openai' ? '/chat/completions' : '/v1/messages';
    const { pool, path } = this.deps.upstreams.target(provider.baseUrl, endpoint);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: context.stream ? 'text/event-stream' : 'application/json',
    };
    if (provider.format === 'anthropic') {
      headers['x-api-key'] = context.apiKey;
      headers['anthropic-version'] = context.anthropicVersion;
    } else {
      headers.authorization = `Bearer ${context.apiKey}`;
    }
    return pool.request({ method: 'POST', path, headers, body: JSON.stringify(body), signal });
  }

  private async plainCall(
    context: CallContext,
    upstreamBody: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const controller = new AbortController();
    const onClose = () => controller.abort();
    request.raw.once('close', onClose);
    let response: Awaited<ReturnType<GatewayService['upstreamRequest']>>;
    let text: string;
    try {
      response = await this.upstreamRequest(context, upstreamBody, controller.signal);
      text = await response.body.text();
    } catch (error) {
      await this.void(context.metering, controller.signal.aborted ? 'client_closed' : 'upstream_unreachable');
      throw new TollgateError('upstream_error', `The provider did not answer: ${(error as Error).message}`);
    } finally {
      request.raw.off('close', onClose);
    }
    if (response.statusCode >= 400) {
      await this.void(context.metering, 'upstream_error');
      this.deps.metrics.gatewayRequests.inc({ outcome: 'upstream_error' });
      throw upstreamFailure(response.statusCode, text);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      await this.void(context.metering, 'upstream_error');
      throw new TollgateError('upstream_error', 'The provider answered with invalid JSON');
    }
    const reportedUsage = usageFromResponse(context.upstreamFormat, parsed);
    const usage = reportedUsage ?? {
      input_tokens: context.inputTokens,
      output_tokens: countTextTokens(answerText(parsed)),
      cached_input_tokens: 0,
    };
    if (usage.output_tokens === 0 && answerText(parsed).length === 0) {
      await this.void(context.metering, 'empty_answer');
    } else {
      await this.capture(context, usage, reportedUsage !== null);
    }
    this.deps.metrics.gatewayRequests.inc({ outcome: 'ok' });
    reply.header('content-type', 'application/json');
    return translateResponse(context.format, context.upstreamFormat, parsed as UpstreamResponse, {
      clientModel: context.clientModel,
    });
  }

  private async streamCall(
    context: CallContext,
    upstreamBody: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const controller = new AbortController();
    let clientGone = false;
    const onClose = () => {
      if (!reply.raw.writableFinished) {
        clientGone = true;
        controller.abort();
      }
    };
    reply.raw.once('close', onClose);
    let response: Awaited<ReturnType<GatewayService['upstreamRequest']>>;
    try {
      response = await this.upstreamRequest(context, upstreamBody, controller.signal);
    } catch (error) {
      reply.raw.off('close', onClose);
      await this.void(context.metering, clientGone ? 'client_closed' : 'upstream_unreachable');
      throw new TollgateError('upstream_error', `The provider did not answer: ${(error as Error).message}`);
    }
    if (response.statusCode >= 400) {
      const text = await response.body.text().catch(() => '');
      reply.raw.off('close', onClose);
      await this.void(context.metering, 'upstream_error');
      this.deps.metrics.gatewayRequests.inc({ outcome: 'upstream_error' });
      throw upstreamFailure(response.statusCode, text);
    }

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const write = async (frames: string[]) => {
      if (frames.length === 0 || raw.destroyed) return;
      if (!raw.write(frames.length === 1 ? frames[0]! : frames.join(''))) await once(raw, 'drain');
    };
    const parser = new SseParser();
    const translator = createStreamTranslator(context.format, context.upstreamFormat, {
      clientModel: context.clientModel,
      includeUsage: context.includeUsage,
      inputTokensEstimate: context.inputTokens,
    });
    const accumulator = new UsageAccumulator({
      format: context.upstreamFormat,
      inputTokensEstimate: context.inputTokens,
    });
    const feed = async (events: ReturnType<SseParser['push']>) => {
      for (const event of events) {
        accumulator.push(event);
        await write(translator.push(event));
      }
    };
    let failure: Error | null = null;
    try {
      for await (const chunk of response.body) await feed(parser.push(chunk as Buffer));
      await feed(parser.end());
    } catch (error) {
      failure = error as Error;
    } finally {
      raw.off('close', onClose);
    }

    try {
      if (clientGone) {
        // The client left: stop the upstream and bill what was generated up to now.
        const { usage, outputReported } = accumulator.result();
        if (usage.output_tokens > 0) await this.capture(context, usage, outputReported);
        else await this.void(context.metering, 'client_closed');
      } else if (failure || translator.upstreamError || !translator.upstreamCompleted) {
        await this.void(context.metering, 'upstream_error');
        const cause = translator.upstreamError;
        await write(
          translator.fail(
            cause
              ? upstreamStreamError(cause.type, cause.message)
              : upstreamStreamError('stream', failure?.message ?? 'the stream ended early'),
          ),
        );
        this.deps.metrics.gatewayRequests.inc({ outcome: 'upstream_error' });
      } else {
        const { usage, outputReported } = accumulator.result();
        if (usage.output_tokens === 0 && accumulator.streamedText().length === 0)
          await this.void(context.metering, 'empty_answer');
        else await this.capture(context, usage, outputReported);
        await write(translator.finish(usage));
        this.deps.metrics.gatewayRequests.inc({ outcome: 'ok' });
      }
    } catch (error) {
      // Billing failed after the answer streamed: end the stream with an error rather than hang.
      await write(
        translator.fail({ code: 'internal_error', message: (error as Error).message, status: 500 }),
      ).catch(() => {});
    } finally {
      if (!raw.destroyed) raw.end();
    }
  }
}

interface CallContext {
  format: ApiFormat;
  provider: ProviderConfig;
  upstreamFormat: ApiFormat;
  apiKey: string;
  model: ModelConfig;
  app: App | null;
  ratePpm: bigint;
  customerId: string;
  inputTokens: number;
  metering: Metering;
  clientModel: string;
  stream: boolean;
  includeUsage: boolean;
  anthropicVersion: string;
}

function readMaxTokens(body: Record<string, unknown>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000_000) {
    throw new TollgateError('invalid_request', 'max_tokens must be a positive integer', {
      param: 'max_tokens',
    });
  }
  return value;
}

/** The text of a non-stream answer in either format (for counting when usage is missing). */
function answerText(body: unknown): string {
  if (!isRecord(body)) return '';
  if (Array.isArray(body.choices)) {
    return body.choices
      .map((choice) => {
        const message = isRecord(choice) && isRecord(choice.message) ? choice.message : null;
        if (!message) return '';
        const toolText = Array.isArray(message.tool_calls) ? JSON.stringify(message.tool_calls) : '';
        return `${typeof message.content === 'string' ? message.content : ''}${toolText}`;
      })
      .join('');
  }
  if (Array.isArray(body.content)) {
    return body.content
      .map((block) =>
        isRecord(block)
          ? typeof block.text === 'string'
            ? block.text
            : block.type === 'tool_use'
              ? JSON.stringify(block.input ?? {})
              : ''
          : '',
      )
      .join('');
  }
  return '';
}

function upstreamFailure(status: number, text: string): TollgateError {
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text);
    if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.message === 'string')
      message = parsed.error.message;
  } catch {
    // keep the raw text
  }
  // The client's own mistake (a bad parameter the provider refused) stays a 400; anything else is 502.
  if (status === 400 || status === 422)
    return new TollgateError('invalid_request', `The provider refused the request: ${message}`);
  return new TollgateError('upstream_error', `The provider answered ${status}: ${message}`, {
    upstream_status: status,
  });
}
