/**
 * What `{ ...first, ...second, … }` makes, without the slow path V8 (Node 20) takes for it: every spread
 * source after the first is copied key by key through the runtime, ~2–9 µs for two objects of ten keys
 * against ~0.1–0.3 µs with `Object.assign` (measured for the metadata a capture writes on every call).
 * Same result: own enumerable keys in order, later sources win, and a `__proto__` key (JSON.parse makes
 * one) stays a plain key, where `Object.assign` would set the prototype instead.
 */
export function mergeObjects(
  ...sources: readonly (Readonly<Record<string, unknown>> | null | undefined)[]
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    if (!source) continue;
    if (!Object.hasOwn(source, '__proto__')) {
      Object.assign(merged, source);
      continue;
    }
    for (const key of Object.keys(source)) {
      Object.defineProperty(merged, key, {
        value: source[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return merged;
}
