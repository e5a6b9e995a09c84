/** Reading operational settings from the environment: a bad value stops the start with its name. */

/**
 * A whole number from `minimum` to `maximum` from `env[name]` (spaces around it ignored), or `fallback`
 * when unset or empty; anything else throws, naming the variable and what it must be (`expected`).
 */
export function wholeNumberFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  minimum: number,
  maximum: number,
  expected = `a whole number from ${minimum} to ${maximum}`,
): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= minimum && value <= maximum)) throw new Error(`${name} must be ${expected} (got "${text}")`);
  return value;
}

/** A positive whole number of milliseconds from `env[name]`, or `fallback` when unset or empty. */
export function millisecondsFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
): number {
  return wholeNumberFromEnv(
    env,
    name,
    fallback,
    1,
    Number.MAX_SAFE_INTEGER,
    'a positive whole number of milliseconds',
  );
}
