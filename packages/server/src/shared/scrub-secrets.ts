/**
 * Text that came from a provider (an error message, an error body) before a client sees it. Providers
 * echo credentials back: a 401 that quotes the key it was sent would hand the operator's API key to
 * whoever made the call. So every known secret is cut out verbatim, and anything shaped like a key or
 * a bearer token is masked too, whoever's it is.
 */

const MASK = '[redacted]';
/** Below this a "secret" is too short to search for without mangling ordinary words. */
const MINIMUM_SECRET_LENGTH = 8;

/**
 * Shapes of credentials seen in provider error text: `sk-…`/`sk_…` (OpenAI, Anthropic, Stripe),
 * `rk_`/`pk_` keys, `tg_…` keys of our own, `key-…`, `Bearer …`/`Key …` header values, `api_key=…` in
 * a query string, and any unbroken run of 32+ key-alphabet characters (hex, base64, UUID pairs).
 */
const KEY_SHAPES: { shape: RegExp; replacement: string }[] = [
  { shape: /\b(?:sk|rk|pk|tg|key|api|fal)[-_][A-Za-z0-9_-]{6,}(?::[A-Za-z0-9_-]+)?/gi, replacement: MASK },
  // Header values: long enough and with a digit, so "Key provided" or "Token limit" stay readable.
  {
    shape: /\b([Bb]earer|Key|Basic|Token)\s+(?=[A-Za-z._~+/=:-]*\d)[A-Za-z0-9._~+/=:-]{12,}/g,
    replacement: `$1 ${MASK}`,
  },
  {
    shape:
      /\b((?:api[_-]?key|x-api-key|access[_-]?token|token|secret|password|authorization)["']?\s*[=:]\s*["']?)[^\s"'&,;}]{4,}/gi,
    replacement: `$1${MASK}`,
  },
  { shape: /[A-Za-z0-9_+/=-]{32,}/g, replacement: MASK },
];

/**
 * `text` with every secret in `knownSecrets` and every key-shaped run replaced by `[redacted]`.
 * Known secrets go first (longest first), so a key is removed whole even when it has no known shape.
 */
export function scrubSecrets(
  text: string,
  knownSecrets: readonly (string | null | undefined)[] = [],
): string {
  let scrubbed = text;
  const secrets = knownSecrets
    .filter(
      (secret): secret is string => typeof secret === 'string' && secret.length >= MINIMUM_SECRET_LENGTH,
    )
    .sort((left, right) => right.length - left.length);
  for (const secret of secrets) scrubbed = scrubbed.split(secret).join(MASK);
  for (const { shape, replacement } of KEY_SHAPES) scrubbed = scrubbed.replace(shape, replacement);
  return scrubbed;
}
