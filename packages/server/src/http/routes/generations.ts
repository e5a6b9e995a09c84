import { z } from 'zod';
import type { GenerationsService } from '../../generations/generations-service.ts';
import { TollgateError } from '../../shared/errors.ts';
import { defineRoute } from '../route.ts';
import { identifier } from './schemas.ts';

const generationSchema = z.object({
  id: z.string(),
  object: z.literal('generation'),
  model: z.string(),
  status: z.enum(['queued', 'in_progress', 'completed', 'failed']),
  funding: z.enum(['credits', 'byok']),
  hold_id: z.string(),
  held: z.number().optional().describe('Credits held: on submission only'),
  cost: z.number().nullable().describe('Credits charged once completed'),
  result: z.unknown().describe("The provider's output, once completed"),
  error: z.string().nullable(),
  created_at: z.string().datetime({ offset: true }),
  completed_at: z.string().datetime({ offset: true }).nullable(),
});

export function generationRoutes(generations: GenerationsService) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/generations',
      summary:
        'Submit a media generation job: held at the price of its input (duration, num_images, … as the catalog defines them), charged only when it succeeds',
      tag: 'Generations',
      auth: ['user'],
      idempotent: 'replay',
      body: z.object({
        model: z.string().min(1).max(300),
        input: z.record(z.string(), z.unknown()),
        // Named so that it is refused (400) rather than silently dropped: the price comes from `input`.
        quantity: z
          .unknown()
          .optional()
          .describe('Not accepted (400): the amount of work is read from input, as the catalog defines it'),
      }),
      response: { status: 201, schema: generationSchema },
      async handler({ body, principal, reply }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        reply.code(201);
        return generations.create({
          customerId: principal.customerId,
          appId: principal.appId,
          userKeyId: principal.keyId,
          memberId: principal.memberId,
          model: body.model,
          input: body.input,
          quantity: body.quantity,
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/generations/:id',
      summary: 'A generation job (refreshed from the provider while it runs)',
      tag: 'Generations',
      auth: ['user'],
      params: z.object({ id: identifier }),
      response: { schema: generationSchema },
      async handler({ params, principal }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        return generations.get(params.id, principal.customerId);
      },
    }),
  ];
}
