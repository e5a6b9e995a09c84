/**
 * A provider's failure as the client may see it: a typed Tollgate error whose text is scrubbed of the
 * call's key and of anything key-shaped (providers quote the credentials they were sent).
 */
import { TollgateError } from '../shared/errors.ts';
import { scrubSecrets } from '../shared/scrub-secrets.ts';
import { isRecord } from './formats/index.ts';

export function upstreamUnreachable(error: unknown, secrets: readonly string[]): TollgateError {
  return new TollgateError(
    'upstream_error',
    `The provider did not answer: ${scrubSecrets((error as Error).message ?? String(error), secrets)}`,
  );
}

/** A provider's error answer, as the client may see it: scrubbed of the call's key and key-shaped text. */
export function upstreamFailure(status: number, text: string, secrets: readonly string[]): TollgateError {
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text);
    if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.message === 'string')
      message = parsed.error.message.slice(0, 500);
  } catch {
    // keep the raw text
  }
  message = scrubSecrets(message, secrets);
  // The client's own mistake (a bad parameter the provider refused) stays a 400; anything else is 502.
  if (status === 400 || status === 422)
    return new TollgateError('invalid_request', `The provider refused the request: ${message}`);
  return new TollgateError('upstream_error', `The provider answered ${status}: ${message}`, {
    upstream_status: status,
  });
}
