/**
 * What the native routes answer, as zod schemas: `/openapi.json` documents each operation's success
 * body from these (route.ts), and the reference test validates real answers against the document.
 * Credits are JSON numbers; times ISO 8601 text.
 */
import { z } from 'zod';

const credits = z.number();
const timestamp = z.string();

export const pricingSchema = z.object({
  per_call: credits.optional(),
  per_unit: credits.optional(),
  unit: z.string().optional(),
  input_per_million: credits.optional(),
  output_per_million: credits.optional(),
  cached_input_per_million: credits.optional(),
});

const modelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  name: z.string(),
  type: z.string(),
  provider: z.string(),
  context_window: z.number().int().optional(),
  max_tokens: z.number().int().optional(),
  pricing: pricingSchema,
  default_for: z.array(z.string()).optional(),
  alias_of: z.string().optional().describe('For an alias: the catalog model (or routed id) it is served as'),
});

export const modelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(modelSchema),
  routes: z
    .array(
      z.object({
        match: z.string().describe('Glob over client model ids; `*` any text, `|` alternatives'),
        providers: z.array(z.object({ provider: z.string(), pricing: pricingSchema })),
      }),
    )
    .describe(
      'Tried in order for ids neither the catalog nor an alias knows; an id naming a catalog model keeps its price',
    ),
  default_price: pricingSchema,
});

export const userBalanceSchema = z.object({
  balance: credits,
  currency: z.literal('credits'),
  pending: credits.describe('Held for calls in progress'),
  available: credits.describe('balance − pending: what the next call may spend'),
  customer: z.string(),
});

export { credits as creditsSchema, timestamp as timestampSchema };
