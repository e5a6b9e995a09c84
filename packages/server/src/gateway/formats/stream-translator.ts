/**
 * The contract every stream translator keeps, so the gateway drives them all the same way:
 *
 *   for each upstream event:      write(translator.push(event))
 *   upstream body ended cleanly:  write(translator.finish(billedUsage))
 *   upstream failed / timed out:  write(translator.fail(error))
 *
 * Each call returns complete SSE frames (strings) ready to write; an empty array means nothing to send.
 * Closing frames (OpenAI's usage chunk and `[DONE]`, Anthropic's message_delta/message_stop) wait for
 * `finish()`, so the usage the client sees can be the usage that was billed — including an estimate when
 * the upstream never reported one.
 */
import { scrubSecrets } from '../../shared/scrub-secrets.ts';
import type { GatewayErrorInput } from './errors.ts';
import type { SseEvent } from './sse.ts';
import type { Usage } from './usage.ts';

export interface StreamTranslator {
  push(event: SseEvent): string[];
  /** `usage` overrides what the upstream reported (pass the billed figures); without it, the reported. */
  finish(usage?: Usage): string[];
  fail(error: GatewayErrorInput): string[];
  /** The upstream sent its own end marker (`message_stop` / `[DONE]`): the answer is complete. */
  readonly upstreamCompleted: boolean;
  /** The upstream reported an error inside the stream; the client has already been sent an error frame. */
  readonly upstreamError: { type: string; message: string } | null;
  /** Closing or error frames were produced; later calls return nothing. */
  readonly closed: boolean;
  /**
   * Anthropic passed through: `event` is a message_start without usage, where the request's counted
   * input stands in, so the caller counts it (`useInputTokensEstimate`) before pushing the event.
   * Counting an agent's prompt costs milliseconds of CPU: it is done only for a provider that leaves
   * usage out, not for every stream.
   */
  needsInputTokensEstimate?(event: SseEvent): boolean;
  useInputTokensEstimate?(tokens: number): void;
}

export interface StreamTranslationOptions {
  /** The model id the client asked for, echoed in every chunk instead of the provider's. */
  clientModel: string;
  /** OpenAI clients only: they asked for `stream_options.include_usage`. */
  includeUsage?: boolean;
  /**
   * Anthropic clients of a translated stream: the request's counted input tokens, for message_start
   * before usage is known (a passed-through stream asks for them: `needsInputTokensEstimate`).
   */
  inputTokensEstimate?: number;
  /** Unix seconds for OpenAI's `created`; injectable so tests are deterministic. */
  createdSeconds?: number;
  /** Responses clients only: the request, echoed in the Response objects of the stream. */
  request?: Record<string, unknown>;
  /** The credentials of the upstream call: cut out of any provider error text the client is shown. */
  secrets?: readonly string[];
}

/**
 * An upstream's in-stream error as the client may see it: providers echo credentials in their errors,
 * so the text is scrubbed of the call's own key and of anything key-shaped.
 */
export function readUpstreamError(
  error: Record<string, unknown>,
  secrets: readonly string[] = [],
): { type: string; message: string } {
  return {
    type: scrubSecrets(String(error.type ?? error.code ?? 'error'), secrets).slice(0, 100),
    message: scrubSecrets(String(error.message ?? ''), secrets).slice(0, 2_000),
  };
}

/** The error a client sees when the upstream fails mid-stream: the contract's 502, with the cause. */
export function upstreamStreamError(type: string, message: string): GatewayErrorInput {
  return { code: 'upstream_error', status: 502, message: `Upstream error (${type}): ${message}` };
}
