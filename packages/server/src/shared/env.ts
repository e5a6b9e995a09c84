/** Reading operational settings from the environment: a bad value stops the start with its name. */

/** A positive whole number of milliseconds from `env[name]`, or `fallback` when unset or empty. */
export function millisecondsFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || !Number.isSafeInteger(value)) {
    throw new Error(`${name} must be a positive whole number of milliseconds (got "${text}")`);
  }
  return value;
}
