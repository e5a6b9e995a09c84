/**
 * `POST /v1/embeddings` (OpenAI's format), metered like chat: priced per input token from the
 * catalog, the worst case held before the provider is called, the provider's usage captured after —
 * cut to that worst case, so a provider that overstates cannot make a capture exceed its hold.
 *
 * - The input is a string, a list of strings, a list of token ids or a list of those lists (OpenAI's
 *   four shapes), at most MAX_EMBEDDING_INPUTS items. Its bound is the UTF-8 bytes of its text (no
 *   byte-level tokenizer makes more tokens than bytes) plus one per token id given: cheap at any size,
 *   and nothing is tokenized before the call.
 * - A model must be in the catalog with category `embedding` and served by an OpenAI-format provider;
 *   other fields of the body pass through untouched (only `model` is swapped for the provider's id).
 * - Usage that is missing or malformed is counted from the text (o200k), never taken as 0.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { referralAccountId } from '../apps/apps-service.ts';
import { authenticate } from '../http/route.ts';
import { quote } from '../pricing/quote.ts';
import { takeCustomerRequest } from '../ratelimit/rate-limiter.ts';
import { TollgateError } from '../shared/errors.ts';
import { parseInput } from '../shared/validation.ts';
import { spenderMetadata } from '../teams/spender.ts';
import { countTextTokensUpTo, isRecord } from './formats/index.ts';
import { forwardedHeaders } from './forward-headers.ts';
import type { GatewayDeps } from './gateway-service.ts';
import { HoldKeeper } from './hold-keeper.ts';
import { upstreamFailure, upstreamUnreachable } from './upstream-errors.ts';

/** OpenAI's own limit on the items of one embeddings request. */
export const MAX_EMBEDDING_INPUTS = 2_048;
/** The embeddings route's body cap: room for OpenAI's 300K-token request limit as text (4 bytes a token). */
export const EMBEDDINGS_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/** The catalog category that marks an embedding model. */
export const EMBEDDING_CATEGORY = 'embedding';

const tokenId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const embeddingsRequest = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1).max(MAX_EMBEDDING_INPUTS),
    z
      .array(tokenId)
      .min(1)
      .max(MAX_EMBEDDING_INPUTS * 8),
    z.array(z.array(tokenId).min(1)).min(1).max(MAX_EMBEDDING_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).max(65_536).optional(),
  user: z.string().max(256).optional(),
});
type EmbeddingsRequest = z.output<typeof embeddingsRequest>;

/** The input's texts and how many token ids it gives directly. */
function embeddingInput(input: EmbeddingsRequest['input']): { texts: string[]; tokenIds: number } {
  if (typeof input === 'string') return { texts: [input], tokenIds: 0 };
  if (input.every((item) => typeof item === 'string')) return { texts: input as string[], tokenIds: 0 };
  if (input.every((item) => typeof item === 'number')) return { texts: [], tokenIds: input.length };
  const lists = input as number[][];
  const tokenIds = lists.reduce((total, list) => total + list.length, 0);
  if (tokenIds > MAX_EMBEDDING_INPUTS * 8_192) {
    throw new TollgateError('invalid_request', 'input has more token ids than one request may embed', {
      param: 'input',
    });
  }
  return { texts: [], tokenIds };
}

/** The most input tokens the provider may bill for this input: its UTF-8 bytes plus its token ids. */
export function boundEmbeddingTokens(input: EmbeddingsRequest['input']): number {
  const { texts, tokenIds } = embeddingInput(input);
  return texts.reduce((total, text) => total + Buffer.byteLength(text, 'utf8'), tokenIds);
}

/** The reported input tokens, or undefined when missing or not a count (never read as 0). */
function reportedTokens(body: unknown): number | undefined {
  const usage = isRecord(body) && isRecord(body.usage) ? body.usage : null;
  const value = usage?.prompt_tokens ?? usage?.total_tokens;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export class EmbeddingsService {
  constructor(private readonly deps: GatewayDeps) {}

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { deps } = this;
    const principal = await authenticate(deps.keys, request.headers, ['user']);
    if (principal.kind !== 'user') throw new TollgateError('forbidden', 'A user key is required');
    await takeCustomerRequest(deps.rateLimiter, principal.customerId);
    const body = parseInput(embeddingsRequest, request.body);

    const app = principal.appId ? await deps.apps.get(principal.appId) : null;
    const model = deps.catalog.require(body.model, { strict: true });
    if (app) deps.apps.assertModelAllowed(app, model.id);
    if (model.category !== EMBEDDING_CATEGORY || model.price.inputPerMillionMicros === null) {
      throw new TollgateError('invalid_request', `${model.id} is not an embedding model`, { param: 'model' });
    }
    const provider = deps.config.providers[model.provider];
    if (!provider || provider.format !== 'openai') {
      throw new TollgateError('invalid_request', `${model.id} is not served by an OpenAI-format provider`, {
        param: 'model',
      });
    }
    const customerKey = await deps.providerKeys.fundingKey(principal.customerId, app, model.provider);
    const apiKey = customerKey ?? (provider.apiKeyEnv ? deps.env[provider.apiKeyEnv] : undefined);
    if (!provider.configured || !apiKey) {
      throw new TollgateError(
        'upstream_error',
        `The provider of ${model.id} is not configured on this server`,
      );
    }

    const inputBound = boundEmbeddingTokens(body.input);
    const ratePpm = app?.referralRatePpm ?? 0n;
    const funding = customerKey ? 'byok' : 'credits';
    const held = await deps.ledger.hold({
      customerId: principal.customerId,
      amountMicros: quote(model, { usage: { input_tokens: inputBound, output_tokens: 0 } }, ratePpm)
        .totalMicros,
      model: model.id,
      modelType: model.type,
      provider: model.provider,
      funding,
      userKeyId: principal.keyId,
      memberId: principal.memberId,
      timeoutSeconds: deps.holdTimeoutSeconds ?? 900,
      metadata: spenderMetadata(principal.keyId, principal.memberId),
    });
    if (!held.ok) {
      if (held.error.code === 'insufficient_credits')
        deps.metrics.gatewayRequests.inc({ outcome: 'insufficient_credits' });
      throw held.error;
    }
    deps.metrics.holds.inc({ funding: held.value.funding });
    const holdId = held.value.id;
    reply.header('x-tollgate-hold', holdId);
    let resolved = false;
    const voidHold = async (reason: string) => {
      resolved = true;
      await deps.ledger.void({ holdId, reason });
      deps.metrics.voids.inc({ reason });
    };
    const keeper = new HoldKeeper(
      deps.ledger,
      deps.clock,
      holdId,
      deps.holdTimeoutSeconds ?? 900,
      request.log,
      deps.inFlightHolds,
    );
    const controller = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort();
    };
    reply.raw.once('close', onClose);
    try {
      let status: number;
      let text: string;
      try {
        ({ status, text } = await deps.upstreams.postJson(
          provider.baseUrl,
          '/embeddings',
          { ...forwardedHeaders(request.headers, 'openai', 'openai'), authorization: `Bearer ${apiKey}` },
          { ...body, model: model.upstreamModel },
          controller.signal,
        ));
      } catch (error) {
        await voidHold(controller.signal.aborted ? 'client_closed' : 'upstream_unreachable');
        throw upstreamUnreachable(error, [apiKey]);
      }
      if (status >= 400) {
        await voidHold('upstream_error');
        deps.metrics.gatewayRequests.inc({ outcome: 'upstream_error' });
        throw upstreamFailure(status, text, [apiKey]);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        await voidHold('upstream_error');
        throw new TollgateError('upstream_error', 'The provider answered with invalid JSON');
      }
      if (!isRecord(parsed) || !Array.isArray(parsed.data) || parsed.data.length === 0) {
        await voidHold('empty_answer');
        throw new TollgateError('upstream_error', 'The provider answered without embeddings');
      }
      const reported = reportedTokens(parsed);
      const { texts, tokenIds } = embeddingInput(body.input);
      const counted =
        reported ?? texts.reduce((total, item) => total + countTextTokensUpTo(item, inputBound), tokenIds);
      const inputTokens = Math.min(counted, inputBound);
      if (reported !== undefined && reported > inputBound) {
        deps.metrics.gatewayUsageAnomalies.inc({ kind: 'input_above_bound', provider: model.provider });
        request.log.warn(
          { hold: holdId, model: model.id, reported, input_bound: inputBound },
          'provider usage not billed as reported',
        );
      }
      const cost = quote(model, { usage: { input_tokens: inputTokens, output_tokens: 0 } }, ratePpm);
      await keeper.stop();
      resolved = true;
      const captured = await deps.ledger.capture({
        holdId,
        amountMicros: cost.totalMicros,
        overrun: 'clamp',
        delivered: true,
        referralShareMicros: cost.referralShareMicros > 0n ? cost.referralShareMicros : undefined,
        referralAccount: cost.referralShareMicros > 0n && app ? referralAccountId(app.id) : undefined,
        metadata: {
          endpoint: 'embeddings',
          input_tokens: inputTokens,
          output_tokens: 0,
          usage_reported: reported !== undefined,
          ...(reported !== undefined && reported > inputBound
            ? { usage_anomalies: ['input_above_bound'] }
            : {}),
          funding,
        },
      });
      if (!captured.ok) throw captured.error;
      deps.metrics.captures.inc();
      deps.metrics.gatewayRequests.inc({ outcome: 'ok' });
      reply.header('content-type', 'application/json');
      return {
        ...parsed,
        model: body.model,
        usage: { prompt_tokens: inputTokens, total_tokens: inputTokens },
      };
    } finally {
      reply.raw.off('close', onClose);
      await keeper.stop();
      if (!resolved) await voidHold('unresolved');
    }
  }
}
