/**
 * `POST /v1/messages/count_tokens` (Anthropic's format): free, but only for a valid user key (it is
 * rate limited with the customer's other calls). An Anthropic-format provider answers it itself, with
 * the client's `anthropic-beta` and `anthropic-version` passed on (the count depends on them); for
 * any other provider the input is counted here with the o200k estimate the gateway bills missing usage
 * with. Nothing is held or charged either way.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../http/route.ts';
import { takeCustomerRequest } from '../ratelimit/rate-limiter.ts';
import { TollgateError } from '../shared/errors.ts';
import {
  type AnthropicMessagesRequest,
  estimateInputTokensAsync,
  isRecord,
  requestInput,
} from './formats/index.ts';
import { forwardedHeaders } from './forward-headers.ts';
import type { GatewayDeps } from './gateway-service.ts';
import { upstreamFailure, upstreamUnreachable } from './upstream-errors.ts';

export class CountTokensService {
  constructor(private readonly deps: GatewayDeps) {}

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { deps } = this;
    const principal = await authenticate(deps.keys, request.headers, ['user']);
    if (principal.kind !== 'user') throw new TollgateError('forbidden', 'A user key is required');
    await takeCustomerRequest(deps.rateLimiter, principal.customerId);
    const body = request.body;
    if (!isRecord(body)) throw new TollgateError('invalid_request', 'Request body must be a JSON object');
    if (typeof body.model !== 'string' || body.model.length === 0) {
      throw new TollgateError('invalid_request', 'model is required', { param: 'model' });
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new TollgateError('invalid_request', 'messages must be a non-empty array', { param: 'messages' });
    }
    const app = principal.appId ? await deps.apps.get(principal.appId) : null;
    const model = deps.catalog.require(body.model, { strict: true });
    if (app) deps.apps.assertModelAllowed(app, model.id);
    const provider = deps.config.providers[model.provider];
    reply.header('content-type', 'application/json');

    if (provider?.format === 'anthropic' && provider.configured) {
      const customerKey = await deps.providerKeys.fundingKey(principal.customerId, app, model.provider);
      const apiKey = customerKey ?? (provider.apiKeyEnv ? deps.env[provider.apiKeyEnv] : undefined);
      if (apiKey) {
        let status: number;
        let text: string;
        try {
          ({ status, text } = await deps.upstreams.postJson(
            provider.baseUrl,
            '/v1/messages/count_tokens',
            { ...forwardedHeaders(request.headers, 'anthropic', 'anthropic'), 'x-api-key': apiKey },
            { ...body, model: model.upstreamModel },
          ));
        } catch (error) {
          throw upstreamUnreachable(error, [apiKey]);
        }
        if (status >= 400) throw upstreamFailure(status, text, [apiKey]);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new TollgateError('upstream_error', 'The provider answered with invalid JSON');
        }
        const counted = isRecord(parsed) ? parsed.input_tokens : undefined;
        if (typeof counted !== 'number' || !Number.isSafeInteger(counted) || counted < 0) {
          throw new TollgateError('upstream_error', 'The provider answered without a token count');
        }
        return { input_tokens: counted };
      }
    }
    const counted = await estimateInputTokensAsync(
      requestInput('anthropic', body as unknown as AnthropicMessagesRequest),
    );
    return { input_tokens: counted };
  }
}
