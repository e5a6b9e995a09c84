import { z } from 'zod';
import type { App, AppsService } from '../../apps/apps-service.ts';
import { parseRate } from '../../pricing/price-inputs.ts';
import { TollgateError } from '../../shared/errors.ts';
import { microsToCredits } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';
import { identifier } from './schemas.ts';

/** Parts per million use the same scale as micro-credits, so the exact decimal printer serves both. */
function rateWire(ratePpm: bigint): number {
  return microsToCredits(ratePpm);
}

/** An origin exactly as browsers write it: scheme, host and port only (`https://app.example`). */
const origin = z
  .string()
  .max(300)
  .refine((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
    } catch {
      return false;
    }
  }, 'must be an origin such as https://app.example (scheme, host and port; no path)');

const policyFields = {
  allow_byok: z.boolean().optional(),
  return_origins: z.array(origin).max(50).optional(),
};

const appFields = {
  name: z.string().min(1).max(200),
  referral_rate: z.union([z.number(), z.string().max(20)]).optional(),
  allowed_models: z.array(z.string().min(1).max(300)).max(10_000).nullable().optional(),
  ...policyFields,
};

const appSchema = z.object({
  id: z.string(),
  object: z.literal('app'),
  name: z.string(),
  referral_rate: z.number().describe('Share of each charge paid to the app, 0.1 = 10%'),
  allowed_models: z.array(z.string()).nullable(),
  allow_byok: z.boolean(),
  return_origins: z.array(z.string()),
  created_at: z.string().datetime({ offset: true }),
});

const appExample = {
  id: 'app_3kd9',
  object: 'app',
  name: 'Acme Studio',
  referral_rate: 0.1,
  allowed_models: null,
  allow_byok: true,
  return_origins: ['https://acme.example'],
  created_at: '2026-01-01T00:00:00.000Z',
};

function appWire(app: App) {
  return {
    id: app.id,
    object: 'app',
    name: app.name,
    referral_rate: rateWire(app.referralRatePpm),
    allowed_models: app.allowedModels,
    allow_byok: app.byokAllowed,
    return_origins: app.returnOrigins,
    created_at: app.createdAt.toISOString(),
  };
}

export function appRoutes(apps: AppsService) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps',
      summary: 'Create an app with a publishable and a secret key',
      tag: 'Apps',
      auth: ['admin'],
      body: z.object(appFields).strict(),
      response: {
        status: 201,
        schema: appSchema.extend({
          publishable_key: z.string().describe('tg_pk_…'),
          secret_key: z.string().describe('tg_sk_…: shown once'),
        }),
        example: { ...appExample, publishable_key: 'tg_pk_…', secret_key: 'tg_sk_…' },
      },
      async handler({ body, reply }) {
        const referralRatePpm = body.referral_rate === undefined ? 0n : parseRate(body.referral_rate);
        const app = await apps.create({
          name: body.name,
          referralRatePpm,
          allowedModels: body.allowed_models ?? null,
          byokAllowed: body.allow_byok,
          returnOrigins: body.return_origins,
        });
        reply.code(201);
        return { ...appWire(app), publishable_key: app.publishableKey, secret_key: app.secretKey };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps',
      summary: 'List apps',
      tag: 'Apps',
      auth: ['admin'],
      response: { schema: z.object({ data: z.array(appSchema) }) },
      async handler() {
        return { data: (await apps.list()).map(appWire) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:id',
      summary: 'An app (an app secret key reads its own)',
      tag: 'Apps',
      auth: ['admin', 'app'],
      params: z.object({ id: identifier }),
      response: { schema: appSchema, example: appExample },
      async handler({ params, principal }) {
        if (principal.kind === 'app' && principal.appId !== params.id) {
          throw new TollgateError('not_found', `No such app: ${params.id}`);
        }
        return appWire(await apps.get(params.id));
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/apps/:id',
      summary:
        "Change an app: the operator any field; the app's own secret key its policies (allow_byok, return_origins)",
      tag: 'Apps',
      auth: ['admin', 'app'],
      params: z.object({ id: identifier }),
      body: z.object({ ...appFields, name: appFields.name.optional() }).strict(),
      response: { schema: appSchema },
      async handler({ params, body, principal }) {
        if (principal.kind === 'app') {
          if (principal.appId !== params.id)
            throw new TollgateError('not_found', `No such app: ${params.id}`);
          const operatorOnly = (['name', 'referral_rate', 'allowed_models'] as const).filter(
            (field) => body[field] !== undefined,
          );
          if (operatorOnly.length > 0) {
            throw new TollgateError('forbidden', `Only the operator can change ${operatorOnly.join(', ')}`, {
              param: operatorOnly[0],
            });
          }
        }
        const app = await apps.update(params.id, {
          name: body.name,
          referralRatePpm: body.referral_rate === undefined ? undefined : parseRate(body.referral_rate),
          allowedModels: body.allowed_models,
          byokAllowed: body.allow_byok,
          returnOrigins: body.return_origins,
        });
        return appWire(app);
      },
    }),
  ];
}
