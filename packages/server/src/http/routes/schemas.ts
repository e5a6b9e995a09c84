/** Shared pieces of the request schemas. */
import { z } from 'zod';

/** Credits on the wire: a JSON number (or decimal string); parsed exactly later by shared/money.ts. */
export const creditAmount = z.union([z.number(), z.string().max(40)]);
export const identifier = z.string().min(1).max(200);
/**
 * Free-form metadata a client stores on a hold or charge (and sees again in the history), bounded like
 * Stripe's: at most 50 keys of 1-40 characters; each value a string of at most 500 characters, a
 * number, a boolean or null (flat: no objects or arrays); the whole object at most 8 KiB as JSON.
 * Without a bound one client's 12 MB object made its own history unreadable.
 */
export const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500, jsonBytes: 8 * 1024 } as const;

export const metadata = z
  .record(z.string(), z.unknown())
  .superRefine((value, context) => {
    const entries = Object.entries(value);
    if (entries.length > METADATA_LIMITS.keys) {
      context.addIssue({
        code: 'custom',
        message: `has ${entries.length} keys; at most ${METADATA_LIMITS.keys}`,
      });
      return;
    }
    for (const [key, item] of entries) {
      if (key.length === 0 || key.length > METADATA_LIMITS.keyLength) {
        // The path would echo the (possibly huge) key back: name the rule instead.
        context.addIssue({
          code: 'custom',
          message: `keys must be 1 to ${METADATA_LIMITS.keyLength} characters (one has ${key.length})`,
        });
        return;
      }
      const scalar = item === null || typeof item === 'number' || typeof item === 'boolean';
      if (typeof item === 'string' ? item.length > METADATA_LIMITS.valueLength : !scalar) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `must be a string of at most ${METADATA_LIMITS.valueLength} characters, a number, a boolean or null`,
        });
        return;
      }
    }
    const jsonBytes = Buffer.byteLength(JSON.stringify(value));
    if (jsonBytes > METADATA_LIMITS.jsonBytes) {
      context.addIssue({
        code: 'custom',
        message: `is ${jsonBytes} bytes as JSON; at most ${METADATA_LIMITS.jsonBytes}`,
      });
    }
  })
  .optional();
export const usage = z
  .object({
    input_tokens: z.number().int().nonnegative().optional(),
    output_tokens: z.number().int().nonnegative().optional(),
    cached_input_tokens: z.number().int().nonnegative().optional(),
  })
  .strict();
export const pagination = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});
export const customerParams = z.object({ id: identifier });
