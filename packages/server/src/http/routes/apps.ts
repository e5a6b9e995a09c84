import { z } from 'zod';
import type { AppsService } from '../../apps/apps-service.ts';
import { parseRate } from '../../pricing/price-inputs.ts';
import { microsToCredits } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';

/** Parts per million use the same scale as micro-credits, so the exact decimal printer serves both. */
function rateWire(ratePpm: bigint): number {
  return microsToCredits(ratePpm);
}

export function appRoutes(apps: AppsService) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps',
      summary: 'Create an app with a publishable and a secret key',
      tag: 'Apps',
      auth: ['admin'],
      body: z.object({
        name: z.string().min(1).max(200),
        referral_rate: z.union([z.number(), z.string().max(20)]).optional(),
        allowed_models: z.array(z.string().min(1).max(300)).max(10_000).nullable().optional(),
      }),
      async handler({ body, reply }) {
        const referralRatePpm = body.referral_rate === undefined ? 0n : parseRate(body.referral_rate);
        const app = await apps.create({ name: body.name, referralRatePpm, allowedModels: body.allowed_models ?? null });
        reply.code(201);
        return {
          id: app.id,
          object: 'app',
          name: app.name,
          publishable_key: app.publishableKey,
          secret_key: app.secretKey,
          referral_rate: rateWire(app.referralRatePpm),
          allowed_models: app.allowedModels,
          created_at: app.createdAt.toISOString(),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps',
      summary: 'List apps',
      tag: 'Apps',
      auth: ['admin'],
      async handler() {
        const list = await apps.list();
        return {
          data: list.map((app) => ({
            id: app.id,
            object: 'app',
            name: app.name,
            referral_rate: rateWire(app.referralRatePpm),
            allowed_models: app.allowedModels,
            created_at: app.createdAt.toISOString(),
          })),
        };
      },
    }),
  ];
}
