/**
 * The OpenAI- and Anthropic-compatible gateway, metered so that a call can neither overdraw nor be had
 * for free:
 * - Before the upstream call it holds the worst case: the input's upper bound (UTF-8 bytes, which no
 *   byte-level BPE tokenizer exceeds) plus every answer it may generate (`n`) × the output limit. When
 *   the balance cannot cover it, every output limit the request carries is lowered to what it affords
 *   (or the request is refused with 402).
 * - After it, it captures what was delivered: the provider's usage where usable, else the estimated
 *   input and the output counted from the delivered text — cut down to that same worst case (counted as
 *   an anomaly when the provider reported more). So a capture never exceeds its hold (`clamp`), and
 *   nothing a hold could have covered goes to sys:loss.
 * - A call in flight keeps its hold alive, and a capture for delivered work lands even past the hold's
 *   timeout or after the sweeper voided it (`delivered`). Only a call that delivered nothing is free.
 * - Every write to the client has a deadline; a client that leaves or stops reading gets its connection
 *   closed, the upstream call is aborted and what was delivered is billed. Provider error text is
 *   scrubbed of keys, and the provider's response headers never reach the client.
 * Every hold is resolved in `finally`.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { type App, type AppsService, referralAccountId } from '../apps/apps-service.ts';
import type { KeyStore } from '../auth/principals.ts';
import type { ProviderKeysService } from '../byok/provider-keys.ts';
import type { ModelConfig, ProviderConfig, TollgateConfig } from '../config/types.ts';
import type { Metrics } from '../http/metrics.ts';
import { authenticate } from '../http/route.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Catalog, CatalogModel } from '../pricing/catalog.ts';
import { createModelRouter, type ModelRouter } from '../pricing/model-routing.ts';
import { maxOutputTokensAffordable, quote } from '../pricing/quote.ts';
import { type MemoryRateLimiter, type RateLimiter, takeCustomerRequest } from '../ratelimit/rate-limiter.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { microsToCredits } from '../shared/money.ts';
import { scrubSecrets } from '../shared/scrub-secrets.ts';
import { spenderMetadata } from '../teams/spender.ts';
import {
  type Attempt,
  type AttemptFailure,
  type AttemptPlan,
  firstAnswer,
  planAttempts,
  retryableStatus,
} from './attempts.ts';
import { CallAbort } from './call-abort.ts';
import { ClientWriter } from './client-writer.ts';
import { EMBEDDING_CATEGORY } from './embeddings.ts';
import { JsonBody } from './formats/elided-json.ts';
import {
  type AccumulatedUsage,
  type ApiFormat,
  assertResponsesRequest,
  boundInputTokens,
  boundUsage,
  boundWithReferences,
  type ClientRequest,
  countTextTokensUpTo,
  createStreamTranslator,
  type Dialect,
  estimateInputTokensAsync,
  isRecord,
  readOutputLimits,
  reportedUsageFromResponse,
  requestInput,
  resolveUsage,
  responsesAnswerText,
  responsesRequestInput,
  responsesRequestView,
  SseParser,
  translateRequest,
  translateResponse,
  type UpstreamResponse,
  type Usage,
  UsageAccumulator,
  upstreamDialect,
  withOutputLimit,
} from './formats/index.ts';
import { checkedMemberCount, type RawObject, scanObject, spliceMembers } from './formats/raw-json.ts';
import { upstreamStreamError } from './formats/stream-translator.ts';
import { forwardedHeaders } from './forward-headers.ts';
import { HoldKeeper, type InFlightHolds } from './hold-keeper.ts';
import { upstreamFailure, upstreamUnreachable } from './upstream-errors.ts';
import type { Upstreams } from './upstreams.ts';

/** The smallest answer worth lowering `max_tokens` to; below it the request is refused with 402. */
const MINIMUM_OUTPUT_TOKENS = 16;
const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
/**
 * The gateway routes' own body cap: 16 MiB. Room for a long conversation with several inline images
 * (Anthropic takes up to 5 MB per image, 32 MB per request), well below the server-wide 20 MiB cap, and
 * small enough that reading, bounding and forwarding one body stays cheap. Above it: 413
 * `payload_too_large` in the endpoint's own dialect.
 */
export const GATEWAY_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
/** How long a write may wait for a client to read (TOLLGATE_CLIENT_WRITE_TIMEOUT_MS). */
export const DEFAULT_CLIENT_WRITE_TIMEOUT_MILLISECONDS = 30_000;

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
  clock: Clock;
  /** The calls running here, so that this server's sweeper extends their holds instead of voiding them. */
  inFlightHolds?: InFlightHolds;
  holdTimeoutSeconds?: number;
  clientWriteTimeoutMilliseconds?: number;
}

interface Metering {
  holdId: string;
  funding: 'credits' | 'byok';
  resolved: boolean;
  /**
   * Settles once the hold is durable; rejects with the database's refusal of a hold the ledger had
   * decided from its cache (the provider call may have started on the decision: `holdDurable`).
   */
  durable: Promise<void>;
}

export class GatewayService {
  /** Client model ids → catalog models (exact ids, aliases, routes): `pricing/model-routing.ts`. */
  private readonly router: ModelRouter;

  constructor(private readonly deps: GatewayDeps) {
    this.router = createModelRouter(deps.config);
  }

  async handle(format: Dialect, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { deps } = this;
    const principal = await authenticate(deps.keys, request.headers, ['user']);
    if (principal.kind !== 'user') throw new TollgateError('forbidden', 'A user key is required');
    await this.rateLimit(principal.customerId);

    // Chat and messages bodies arrive with their long text cut out (`formats/elided-json.ts`): sized and
    // forwarded as the client's bytes, never decoded, unless a call is translated.
    const read = request.body instanceof JsonBody ? request.body : new JsonBody(request.body);
    if (!isRecord(read.value))
      throw new TollgateError('invalid_request', 'Request body must be a JSON object');
    let body: Record<string, unknown> = read.value;
    const memberCount = checkedMemberCount(body);
    const clientModel = body.model;
    if (typeof clientModel !== 'string' || clientModel.length === 0) {
      throw new TollgateError('invalid_request', 'model is required', { param: 'model' });
    }
    if (format === 'responses') assertResponsesRequest(body);
    else if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new TollgateError('invalid_request', 'messages must be a non-empty array', { param: 'messages' });
    }
    const limits = readOutputLimits(format, body);
    const stream = body.stream === true;

    const app = principal.appId ? await deps.apps.get(principal.appId) : null;
    const model = this.resolveModel(clientModel);
    if (app) deps.apps.assertModelAllowed(app, model.id);
    if (
      model.price.outputPerMillionMicros === null &&
      model.price.inputPerMillionMicros === null &&
      model.type !== 'language'
    ) {
      throw new TollgateError('invalid_request', `${model.id} is not a chat model`, { param: 'model' });
    }
    if (model.category === EMBEDDING_CATEGORY) {
      throw new TollgateError(
        'invalid_request',
        `${model.id} is an embedding model: use POST /v1/embeddings`,
        {
          param: 'model',
        },
      );
    }
    const provider = deps.config.providers[model.provider];
    if (!provider) throw new TollgateError('upstream_error', `No provider configured for ${model.id}`);
    if (provider.format === 'fal') {
      throw new TollgateError('invalid_request', `${model.id} is a media model: use POST /v1/generations`, {
        param: 'model',
      });
    }
    // Who may serve it, in order, and whose keys pay (the customer's own, or credits).
    const plan = await planAttempts({
      model,
      config: deps.config,
      env: deps.env,
      customerKey: (name) => deps.providerKeys.fundingKey(principal.customerId, app, name),
    });

    // A translated call needs the text itself.
    let elided = read.elided;
    if (
      elided &&
      plan.attempts.some(
        (attempt) => upstreamDialect(format, attempt.provider.format as ApiFormat) !== format,
      )
    ) {
      body = read.full() as Record<string, unknown>;
      elided = null;
    }
    // The bound is what the hold covers (bytes: cheap at any size). The estimate stands in for input
    // the provider does not report: tokenizing an agent's 100 KB prompt costs ~10 ms of CPU, so it is
    // counted (without holding the event loop) only when a figure is missing, or a client is shown it.
    const responsesView = format === 'responses' ? responsesRequestView(body) : null;
    const input = responsesView
      ? responsesRequestInput(responsesView)
      : requestInput(format as ApiFormat, body as unknown as ClientRequest);
    const inputBound = boundWithReferences(
      responsesView,
      boundInputTokens(input, elided ? (text) => elided.byteLength(text) : undefined),
      model.contextWindow,
    );
    let counting: Promise<number> | undefined;
    const inputEstimate = () => {
      counting ??= estimateInputTokensAsync(
        elided ? requestInput(format as ApiFormat, read.full() as ClientRequest) : input,
      );
      return counting;
    };
    const modelMax = model.maxTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    let maxTokens = Math.min(limits.requestedMaxTokens ?? modelMax, modelMax);
    // Fails before any credit moves when the request cannot be translated (a 400), for every format
    // a provider of the call speaks.
    const bodyFor = (attempt: Attempt, source: Record<string, unknown> = body) =>
      translateRequest(
        format,
        attempt.provider.format as ApiFormat,
        withOutputLimit(format, source, maxTokens) as unknown as ClientRequest,
        { upstreamModel: attempt.upstreamModel, defaultMaxTokens: maxTokens, maxTokensField: 'max_tokens' },
      );
    // A body passed through (the same dialect both sides) goes out as the client's own bytes with only
    // the members the gateway changes written anew (`formats/raw-json.ts`); a translated one is serialised.
    let scanned: RawObject | null | undefined;
    const encodedBodyFor = (attempt: Attempt): string | Buffer => {
      const forwarded = bodyFor(attempt) as unknown as Record<string, unknown>;
      const raw = request.rawBody;
      if (raw && upstreamDialect(format, attempt.provider.format as ApiFormat) === format) {
        scanned ??= scanObject(raw);
        const spliced = scanned && spliceMembers(raw, scanned, memberCount, body, forwarded, elided?.marker);
        if (spliced) return spliced;
      }
      // A body with placeholders is never sent: serialised, it is the body parsed whole.
      return JSON.stringify(elided ? bodyFor(attempt, read.full() as Record<string, unknown>) : forwarded);
    };
    const checkedFormats = new Set<string>();
    for (const attempt of plan.attempts) {
      if (!checkedFormats.has(attempt.provider.format)) bodyFor(attempt);
      checkedFormats.add(attempt.provider.format);
    }
    const ratePpm = app?.referralRatePpm ?? 0n;
    const metering = await this.hold({
      customerId: principal.customerId,
      userKeyId: principal.keyId,
      memberId: principal.memberId,
      // Sized for the dearest provider that may answer, so that no fallback can overdraw.
      model: { ...model, price: plan.holdPrice, provider: plan.attempts[0]!.provider.name },
      inputTokens: inputBound,
      maxTokens,
      choices: limits.choices,
      ratePpm,
      funding: plan.funding,
      // A stream waits for its hold: the provider's first chunks, read only once the hold is durable,
      // would be lost if the provider cut the stream meanwhile (undici drops a destroyed body's buffer).
      early: !stream,
      onLowered: (lowered) => {
        reply.header('x-tollgate-max-tokens-lowered', `${maxTokens}->${lowered}`);
        maxTokens = lowered;
      },
    });
    const keeper = new HoldKeeper(
      deps.ledger,
      deps.clock,
      metering.holdId,
      this.holdTimeoutSeconds(),
      request.log,
      deps.inFlightHolds,
    );
    try {
      const [first] = plan.attempts;
      const context: CallContext = {
        format,
        provider: first!.provider,
        upstreamFormat: first!.provider.format as ApiFormat,
        upstreamDialect: upstreamDialect(format, first!.provider.format as ApiFormat),
        request: body,
        apiKey: first!.apiKey,
        attempt: first!,
        attemptsTried: 0,
        plan,
        secrets: plan.attempts.map((attempt) => attempt.apiKey),
        model,
        app,
        ratePpm,
        customerId: principal.customerId,
        inputBound,
        inputEstimate,
        outputLimit: limits.choices * maxTokens,
        metering,
        keeper,
        log: request.log,
        clientModel,
        stream,
        includeUsage: isRecord(body.stream_options) && body.stream_options.include_usage === true,
        clientHeaders: request.headers,
      };
      reply.header('x-tollgate-hold', metering.holdId);
      if (stream) {
        await this.streamCall(context, encodedBodyFor, reply);
        return reply;
      }
      return await this.plainCall(context, encodedBodyFor, reply);
    } finally {
      await keeper.stop();
      // A hold the database refused does not exist: there is nothing to void.
      if (
        !metering.resolved &&
        (await metering.durable.then(
          () => true,
          () => false,
        ))
      )
        await this.void(metering, 'unresolved');
    }
  }

  /** The customer's one bucket, shared with every native user-key route (http/route.ts). */
  private async rateLimit(customerId: string): Promise<void> {
    await takeCustomerRequest(this.deps.rateLimiter, customerId);
  }

  private holdTimeoutSeconds(): number {
    return this.deps.holdTimeoutSeconds ?? 900;
  }

  /**
   * Holds the worst case: the input bound and `choices` answers of `maxTokens` each. If the balance
   * cannot cover it, lowers the per-answer limit to what it affords (every answer gets the same).
   * Returns as soon as the ledger has decided the hold from its cache, before the write that makes it
   * durable: the provider call starts meanwhile, and `Metering.durable` says whether the database
   * agreed. So the hold's commit is off the critical path; the capture's stays on it.
   */
  private async hold(input: {
    customerId: string;
    userKeyId: string;
    memberId: string | undefined;
    model: ModelConfig;
    inputTokens: number;
    maxTokens: number;
    choices: number;
    ratePpm: bigint;
    funding: 'credits' | 'byok';
    /** Answer on the ledger's decision, before the hold is durable (`Ledger.holdEarly`). */
    early: boolean;
    onLowered(lowered: number): void;
  }): Promise<Metering> {
    const { ledger, metrics } = this.deps;
    const holdInput = (outputTokensPerChoice: number) => ({
      customerId: input.customerId,
      amountMicros: quote(
        input.model,
        {
          usage: { input_tokens: input.inputTokens, output_tokens: input.choices * outputTokensPerChoice },
        },
        input.ratePpm,
      ).totalMicros,
      model: input.model.id,
      modelType: input.model.type,
      provider: input.model.provider,
      funding: input.funding,
      userKeyId: input.userKeyId,
      memberId: input.memberId,
      timeoutSeconds: this.holdTimeoutSeconds(),
      metadata: spenderMetadata(input.userKeyId, input.memberId),
    });
    const first = input.early
      ? await ledger.holdEarly(holdInput(input.maxTokens))
      : await ledger.hold(holdInput(input.maxTokens)).then((held) => ({
          decided: held,
          durable: Promise.resolve(held),
        }));
    let result = first.decided;
    let durable = first.durable;
    if (!result.ok && result.error.code === 'insufficient_credits') {
      const available = BigInt(String(result.error.details.available ?? '0'));
      const budget = maxOutputTokensAffordable(
        input.model,
        { input_tokens: input.inputTokens },
        available,
        input.ratePpm,
      );
      const minimum = Math.min(MINIMUM_OUTPUT_TOKENS, input.maxTokens);
      if (budget.affordable && budget.maxOutputTokens !== null) {
        const perChoice = budget.maxOutputTokens / BigInt(input.choices);
        if (perChoice >= BigInt(minimum)) {
          const lowered = Number(perChoice < BigInt(input.maxTokens) ? perChoice : BigInt(input.maxTokens));
          result = await ledger.hold(holdInput(lowered));
          durable = Promise.resolve(result);
          if (result.ok) input.onLowered(lowered);
        }
      }
    }
    if (!result.ok) {
      if (result.error.code === 'insufficient_credits')
        metrics.gatewayRequests.inc({ outcome: 'insufficient_credits' });
      throw result.error;
    }
    const { funding } = result.value;
    // A refusal here is counted as `hold_refused` (`holdDurable`): the provider call had started.
    const committed = durable.then((final) => {
      if (!final.ok) throw final.error;
      metrics.holds.inc({ funding });
    });
    // Handled here too: a call that failed before it asked must not leave it unhandled.
    committed.catch(() => {});
    return { holdId: result.value.id, funding, resolved: false, durable: committed };
  }

  /**
   * The provider call may have started on a hold the ledger decided from its cache: nothing reaches the
   * client or the ledger before the hold is durable. If the database refused it (another server had
   * spent the balance meanwhile), the refusal has aborted the provider call already; the client gets
   * it, nothing was delivered, and nothing is charged (the provider's work so far is the operator's).
   */
  private async holdDurable(
    context: CallContext,
    opened: { ok: true; response: { body: { destroy(): unknown } } } | { ok: false },
  ): Promise<void> {
    try {
      await context.metering.durable;
    } catch (error) {
      // Nothing to void: `handle` voids only a hold that became durable.
      if (opened.ok) opened.response.body.destroy();
      this.deps.metrics.gatewayRequests.inc({ outcome: 'hold_refused' });
      throw error;
    }
  }

  /** A hold the database refuses aborts the provider call at once, not when it answers. */
  private abortOnRefusal(metering: Metering, controller: CallAbort): void {
    metering.durable.catch(() => controller.abort());
  }

  /**
   * Captures delivered work: the usage cut down to the worst case the hold covered (so the capture
   * never exceeds the hold), with what the provider overstated counted and logged as an anomaly.
   * Returns the usage billed, which is also what the client is shown.
   */
  private async capture(context: CallContext, resolved: AccumulatedUsage): Promise<Usage & { cost: number }> {
    const { metering } = context;
    const { usage, anomalies } = boundUsage(resolved, {
      inputTokens: context.inputBound,
      outputTokens: context.outputLimit,
    });
    for (const kind of anomalies)
      this.deps.metrics.gatewayUsageAnomalies.inc({ kind, provider: context.provider.name });
    if (anomalies.length > 0) {
      context.log.warn(
        {
          anomalies,
          hold: metering.holdId,
          model: context.model.id,
          reported: resolved.usage,
          billed: usage,
          input_bound: context.inputBound,
          output_limit: context.outputLimit,
        },
        'provider usage not billed as reported',
      );
    }
    // The price of the provider that answered (the hold covered the dearest).
    const cost = quote({ ...context.model, price: context.attempt.price }, { usage }, context.ratePpm);
    // A delivered capture lands even when the keeper could not keep the hold alive.
    await context.keeper.stop();
    metering.resolved = true;
    const result = await this.deps.ledger.capture({
      holdId: metering.holdId,
      amountMicros: cost.totalMicros,
      overrun: 'clamp',
      delivered: true,
      referralShareMicros: cost.referralShareMicros > 0n ? cost.referralShareMicros : undefined,
      referralAccount:
        cost.referralShareMicros > 0n && context.app ? referralAccountId(context.app.id) : undefined,
      metadata: {
        endpoint: ENDPOINT_NAMES[context.format],
        stream: context.stream,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cached_input_tokens: usage.cached_input_tokens,
        usage_reported: resolved.outputReported,
        ...(anomalies.length > 0 ? { usage_anomalies: anomalies } : {}),
        funding: metering.funding,
        provider: context.provider.name,
        upstream_model: context.attempt.upstreamModel,
        attempts: context.attemptsTried,
      },
    });
    if (!result.ok) throw result.error;
    this.deps.metrics.captures.inc();
    return { ...usage, cost: microsToCredits(cost.totalMicros) };
  }

  /** No provider answered: the hold is voided (nothing is charged) and the outcome counted. */
  private async failed(context: CallContext, failure: AttemptFailure, clientGone: boolean): Promise<void> {
    if (clientGone) {
      await this.void(context.metering, 'client_closed');
      return;
    }
    await this.void(context.metering, failure.kind === 'status' ? 'upstream_error' : 'upstream_unreachable');
    if (failure.kind === 'status') this.deps.metrics.gatewayRequests.inc({ outcome: 'upstream_error' });
  }

  private async void(metering: Metering, reason: string): Promise<void> {
    metering.resolved = true;
    await this.deps.ledger.void({ holdId: metering.holdId, reason });
    this.deps.metrics.voids.inc({ reason });
  }

  /** The model a client's id stands for (exact id, alias, route), or 404 `model_not_found`. */
  private resolveModel(clientId: string): CatalogModel {
    if (!/^\S+$/.test(clientId)) {
      throw new TollgateError('invalid_request', 'model must be a non-empty model id', { param: 'model' });
    }
    const model = this.router.resolve(clientId);
    if (!model) {
      throw new TollgateError('model_not_found', `The model ${clientId} does not exist`, { param: 'model' });
    }
    return model;
  }

  /**
   * Sends the call to the first provider that answers (`attempts.ts`): a connection failure, a
   * timeout, a 5xx or a 429 moves to the next one, within the budget; nothing has reached the client
   * yet. The context then names the provider that answered; it alone is charged.
   */
  private async openUpstream(
    context: CallContext,
    bodyFor: (attempt: Attempt) => string | Buffer,
    signal: CallAbort,
  ): Promise<
    | { ok: true; response: Awaited<ReturnType<GatewayService['upstreamRequest']>> }
    | { ok: false; failure: AttemptFailure }
  > {
    const { metrics, config } = this.deps;
    const outcome = await firstAnswer(
      context.plan.attempts,
      { ...config.fallbacks, now: () => performance.now() },
      async (attempt) => {
        let response: Awaited<ReturnType<GatewayService['upstreamRequest']>>;
        try {
          response = await this.upstreamRequest(
            {
              ...context,
              provider: attempt.provider,
              apiKey: attempt.apiKey,
              upstreamDialect: upstreamDialect(context.format, attempt.provider.format as ApiFormat),
            },
            bodyFor(attempt),
            signal,
          );
        } catch (error) {
          // undici names its timeouts `UND_ERR_*_TIMEOUT`; an abort's DOMException has a numeric code.
          const code = String((error as { code?: unknown }).code ?? '');
          const failure: AttemptFailure = {
            kind: code.endsWith('_TIMEOUT') ? 'timeout' : 'unreachable',
            retryable: !signal.aborted,
            error: upstreamUnreachable(error, context.secrets),
          };
          metrics.gatewayUpstreamAttempts.inc({ provider: attempt.provider.name, outcome: failure.kind });
          return { ok: false, failure };
        }
        if (response.statusCode >= 400) {
          const text = await response.body.text().catch(() => '');
          const status = response.statusCode;
          metrics.gatewayUpstreamAttempts.inc({
            provider: attempt.provider.name,
            outcome: status === 429 ? 'status_429' : status >= 500 ? 'status_5xx' : 'status_4xx',
          });
          return {
            ok: false,
            failure: {
              kind: 'status',
              status,
              retryable: retryableStatus(status) && !signal.aborted,
              error: upstreamFailure(status, text, context.secrets),
            },
          };
        }
        metrics.gatewayUpstreamAttempts.inc({ provider: attempt.provider.name, outcome: 'answered' });
        return { ok: true, value: response };
      },
      () => signal.aborted,
    );
    context.attemptsTried = outcome.tried;
    if (!outcome.ok) {
      if (outcome.tried > 1) {
        context.log.warn(
          { model: context.model.id, tried: outcome.tried, status: outcome.failure.status },
          'every provider of the model failed',
        );
      }
      return outcome;
    }
    const { attempt } = outcome;
    context.attempt = attempt;
    context.provider = attempt.provider;
    context.upstreamFormat = attempt.provider.format as ApiFormat;
    context.upstreamDialect = upstreamDialect(context.format, context.upstreamFormat);
    context.apiKey = attempt.apiKey;
    return { ok: true, response: outcome.value };
  }

  private upstreamRequest(
    context: Pick<
      CallContext,
      'format' | 'provider' | 'apiKey' | 'stream' | 'upstreamDialect' | 'clientHeaders'
    >,
    body: string | Buffer,
    signal: CallAbort,
  ) {
    const { provider } = context;
    const endpoint =
      context.upstreamDialect === 'responses'
        ? '/responses'
        : provider.format === 'openai'
          ? '/chat/completions'
          : '/v1/messages';
    const { pool, path } = this.deps.upstreams.target(provider.baseUrl, endpoint);
    const headers: Record<string, string> = {
      // Per attempt: what the client's headers mean depends on the dialect of the provider tried.
      ...forwardedHeaders(
        context.clientHeaders,
        context.format === 'responses' ? 'openai' : context.format,
        provider.format as ApiFormat,
      ),
      'content-type': 'application/json',
      accept: context.stream ? 'text/event-stream' : 'application/json',
    };
    if (provider.format === 'anthropic') {
      headers['x-api-key'] = context.apiKey;
    } else {
      headers.authorization = `Bearer ${context.apiKey}`;
    }
    return pool.request({ method: 'POST', path, headers, body, signal });
  }

  private async plainCall(
    context: CallContext,
    bodyFor: (attempt: Attempt) => string | Buffer,
    reply: FastifyReply,
  ) {
    const controller = new CallAbort();
    // The request's own 'close' fires once its body has been read (Node 20); the response's, before it
    // is finished, is the client leaving.
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort();
    };
    reply.raw.once('close', onClose);
    this.abortOnRefusal(context.metering, controller);
    let text: string;
    try {
      const opened = await this.openUpstream(context, bodyFor, controller);
      await this.holdDurable(context, opened);
      if (!opened.ok) {
        await this.failed(context, opened.failure, controller.aborted);
        throw opened.failure.error;
      }
      try {
        text = await opened.response.body.text();
      } catch (error) {
        await this.void(context.metering, controller.aborted ? 'client_closed' : 'upstream_unreachable');
        throw upstreamUnreachable(error, context.secrets);
      }
    } finally {
      reply.raw.off('close', onClose);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      await this.void(context.metering, 'upstream_error');
      throw new TollgateError('upstream_error', 'The provider answered with invalid JSON');
    }
    const answer = answerText(parsed);
    const reported = reportedUsageFromResponse(context.upstreamDialect, parsed);
    const resolved = resolveUsage(reported, {
      inputTokens: reported?.input_tokens === undefined ? await context.inputEstimate() : 0,
      countOutput: () => countTextTokensUpTo(answer, context.outputLimit),
      delivered: answer.length > 0,
    });
    let cost = 0;
    if (deliveredSomething(answer.length > 0, resolved, context.outputLimit))
      cost = (await this.capture(context, resolved)).cost;
    else await this.void(context.metering, 'empty_answer');
    this.deps.metrics.gatewayRequests.inc({ outcome: 'ok' });
    reply.header('content-type', 'application/json');
    // What this call was charged, known before the body is sent (a stream's comes in its last usage).
    reply.header('x-tollgate-cost', String(cost));
    const answered = translateResponse(context.format, context.upstreamFormat, parsed as UpstreamResponse, {
      clientModel: context.clientModel,
      request: context.request,
    });
    return withCost(answered, cost);
  }

  private async streamCall(
    context: CallContext,
    bodyFor: (attempt: Attempt) => string | Buffer,
    reply: FastifyReply,
  ) {
    const controller = new CallAbort();
    const raw = reply.raw;
    let clientGone = false;
    const onClose = () => {
      if (!raw.writableFinished) {
        clientGone = true;
        controller.abort();
      }
    };
    raw.once('close', onClose);
    this.abortOnRefusal(context.metering, controller);
    // Fallbacks happen here, before the first byte is written: past `writeHead`, never.
    const opened = await this.openUpstream(context, bodyFor, controller);
    try {
      await this.holdDurable(context, opened);
    } catch (error) {
      raw.off('close', onClose);
      throw error;
    }
    if (!opened.ok) {
      raw.off('close', onClose);
      await this.failed(context, opened.failure, clientGone);
      throw opened.failure.error;
    }
    const { response } = opened;

    reply.hijack();
    // Only our own headers: nothing the provider answered with is passed on.
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const writer = new ClientWriter(
      raw,
      this.deps.clientWriteTimeoutMilliseconds ?? DEFAULT_CLIENT_WRITE_TIMEOUT_MILLISECONDS,
      () => {
        clientGone = true;
        controller.abort();
      },
    );
    const parser = new SseParser();
    const translator = createStreamTranslator(context.format, context.upstreamFormat, {
      clientModel: context.clientModel,
      includeUsage: context.includeUsage,
      // Anthropic clients are shown an input figure in message_start, before the provider reports one:
      // counted here for a translated stream, and only on demand for one passed through (`feed`).
      inputTokensEstimate:
        context.format === 'anthropic' && context.upstreamDialect !== 'anthropic'
          ? await context.inputEstimate()
          : undefined,
      secrets: context.secrets,
      request: context.request,
    });
    const accumulator = new UsageAccumulator({ format: context.upstreamDialect });
    // One write per chunk the provider sent, not per event: a chunk often carries many events, and each
    // write is a system call. The events are counted as delivered when they are handed to the socket.
    const feed = async (events: ReturnType<SseParser['push']>) => {
      if (events.length === 0 || writer.gone) return;
      const frames: string[] = [];
      for (const event of events) {
        if (translator.needsInputTokensEstimate?.(event))
          translator.useInputTokensEstimate?.(await context.inputEstimate());
        accumulator.push(event);
        for (const frame of translator.push(event)) frames.push(frame);
      }
      context.keeper.progress();
      await writer.write(frames);
    };
    let failure: Error | null = null;
    try {
      for await (const chunk of response.body) {
        await feed(parser.push(chunk as Buffer));
        if (writer.gone) break;
      }
      if (!writer.gone) await feed(parser.end());
    } catch (error) {
      failure = error as Error;
    } finally {
      raw.off('close', onClose);
    }
    // However the loop ended without the client, the upstream call ends too.
    if (writer.gone) controller.abort();

    try {
      let resolved = accumulator.result(context.outputLimit);
      if (!resolved.inputReported) {
        resolved = { ...resolved, usage: { ...resolved.usage, input_tokens: await context.inputEstimate() } };
      }
      const delivered = deliveredSomething(
        accumulator.streamedText().length > 0,
        resolved,
        context.outputLimit,
      );
      const billed = delivered ? await this.capture(context, resolved) : null;
      const broken = failure !== null || translator.upstreamError !== null || !translator.upstreamCompleted;
      if (!billed) {
        await this.void(
          context.metering,
          clientGone ? 'client_closed' : broken ? 'upstream_error' : 'empty_answer',
        );
      }
      if (clientGone) {
        this.deps.metrics.gatewayRequests.inc({ outcome: 'client_closed' });
      } else if (broken) {
        // Whatever was delivered is billed above; the client still learns that the answer was cut.
        const cause = translator.upstreamError;
        await writer.write(
          translator.fail(
            cause
              ? upstreamStreamError(cause.type, cause.message)
              : upstreamStreamError(
                  'stream',
                  scrubSecrets(failure?.message ?? 'the stream ended early', context.secrets),
                ),
          ),
        );
        this.deps.metrics.gatewayRequests.inc({ outcome: 'upstream_error' });
      } else {
        const shown = billed ?? {
          ...boundUsage(resolved, { inputTokens: context.inputBound, outputTokens: context.outputLimit })
            .usage,
          cost: 0,
        };
        await writer.write(translator.finish(shown));
        this.deps.metrics.gatewayRequests.inc({ outcome: 'ok' });
      }
    } catch (error) {
      // Billing failed after the answer streamed: end the stream with an error rather than hang.
      context.log.error({ err: error, hold: context.metering.holdId }, 'gateway billing failed');
      await writer.write(
        translator.fail({ code: 'internal_error', message: 'Billing this answer failed.', status: 500 }),
      );
    } finally {
      writer.end();
    }
  }
}

interface CallContext {
  format: Dialect;
  /** The provider, format and key of the attempt being made, then of the one that answered. */
  provider: ProviderConfig;
  upstreamFormat: ApiFormat;
  /** The dialect of the upstream call (a Responses client of an OpenAI provider: `responses`). */
  upstreamDialect: Dialect;
  /** The client's request body (echoed in Responses objects). */
  request: Record<string, unknown>;
  apiKey: string;
  attempt: Attempt;
  /** How many providers were tried (1 when the first answered). */
  attemptsTried: number;
  plan: AttemptPlan;
  /** The credentials the upstream call carries: scrubbed from any provider text a client sees. */
  secrets: string[];
  model: ModelConfig;
  app: App | null;
  ratePpm: bigint;
  customerId: string;
  /** The most input tokens the provider may bill (what the hold covers). */
  inputBound: number;
  /** The o200k estimate of the input, for when the provider does not report it (counted once, on demand). */
  inputEstimate(): Promise<number>;
  /** The most output tokens the provider may bill: answers × the limit it was sent. */
  outputLimit: number;
  metering: Metering;
  keeper: HoldKeeper;
  log: FastifyBaseLogger;
  clientModel: string;
  stream: boolean;
  includeUsage: boolean;
  /** The client's request headers: an allow-list of them goes to a provider of the same dialect (`forward-headers.ts`). */
  clientHeaders: FastifyRequest['headers'];
}

/**
 * Whether a call delivered anything to bill: text, or output the provider reports without text that
 * fits the limit (a reasoning model's hidden tokens). A reported figure above the limit beside nothing
 * at all is the provider's nonsense, not work: such a call stays free.
 */
function deliveredSomething(
  textDelivered: boolean,
  resolved: AccumulatedUsage,
  outputLimit: number,
): boolean {
  if (textDelivered) return true;
  const output = resolved.usage.output_tokens;
  return resolved.outputReported && output > 0 && output <= outputLimit;
}

/** How each endpoint is named in a capture's metadata. */
const ENDPOINT_NAMES: Record<Dialect, string> = {
  openai: 'chat.completions',
  anthropic: 'messages',
  responses: 'responses',
};

/** A non-stream answer with the charged credits as `usage.cost` (as OpenRouter reports it). */
function withCost(body: UpstreamResponse, cost: number): UpstreamResponse {
  if (!isRecord(body) || !isRecord(body.usage)) return body;
  return { ...body, usage: { ...body.usage, cost } } as UpstreamResponse;
}

/** The text of a non-stream answer in any dialect (for counting when usage is missing). */
function answerText(body: unknown): string {
  if (!isRecord(body)) return '';
  if (Array.isArray(body.output)) return responsesAnswerText(body);
  if (Array.isArray(body.choices)) {
    return body.choices
      .map((choice) => {
        const message = isRecord(choice) && isRecord(choice.message) ? choice.message : null;
        if (!message) return '';
        const toolText = Array.isArray(message.tool_calls) ? JSON.stringify(message.tool_calls) : '';
        return [message.content, message.refusal, message.reasoning_content]
          .filter((part): part is string => typeof part === 'string')
          .join('')
          .concat(toolText);
      })
      .join('');
  }
  if (Array.isArray(body.content)) {
    return body.content
      .map((block) => {
        if (!isRecord(block)) return '';
        if (typeof block.text === 'string') return block.text;
        if (typeof block.thinking === 'string') return block.thinking;
        return block.type === 'tool_use' ? JSON.stringify(block.input ?? {}) : '';
      })
      .join('');
  }
  return '';
}
