/** Shared pieces of the request schemas. */
import { z } from 'zod';

/** Credits on the wire: a JSON number (or decimal string); parsed exactly later by shared/money.ts. */
export const creditAmount = z.union([z.number(), z.string().max(40)]);
export const identifier = z.string().min(1).max(200);
export const metadata = z.record(z.string().max(100), z.unknown()).optional();
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
