import { z } from 'zod';
import type { App, AppsService, ReferralRateChange } from '../../apps/apps-service.ts';
import { parseRate } from '../../pricing/price-inputs.ts';
import { TollgateError } from '../../shared/errors.ts';
import { microsToCredits } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';
import { timestampSchema } from '../wire.ts';
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

/** An https address a page may link to or load an image from (no credentials in it). */
const httpsUrl = z
  .string()
  .max(2000)
  .refine((text) => {
    try {
      const url = new URL(text);
      return url.protocol === 'https:' && !url.username && !url.password && url.href === text;
    } catch {
      return false;
    }
  }, 'must be an https URL written in full, such as https://app.example/logo.png');

const policyFields = {
  allow_byok: z.boolean().optional(),
  return_origins: z.array(origin).max(50).optional(),
  // Branding on the customers' dashboard; null removes it.
  logo_url: httpsUrl.nullable().optional(),
  accent_color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour written #rrggbb')
    .transform((text) => text.toLowerCase())
    .nullable()
    .optional(),
  website_url: httpsUrl.nullable().optional(),
};

const appFields = {
  name: z.string().min(1).max(200),
  referral_rate: z.union([z.number(), z.string().max(20)]).optional(),
  /** The ceiling on the rate the app may set for itself (operator only; default: its referral_rate). */
  referral_rate_max: z.union([z.number(), z.string().max(20)]).optional(),
  allowed_models: z.array(z.string().min(1).max(300)).max(10_000).nullable().optional(),
  ...policyFields,
};

const referralRateSchema = z.object({
  object: z.literal('referral_rate'),
  app: z.string(),
  referral_rate: z.number(),
  referral_rate_max: z.number().describe('The ceiling the operator set'),
  history: z.array(
    z.object({
      changed_by: z.enum(['operator', 'app']),
      from: z.number().nullable(),
      to: z.number(),
      max: z.number(),
      created_at: timestampSchema,
    }),
  ),
});

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
    referral_rate_max: rateWire(app.referralRateMaxPpm),
    allowed_models: app.allowedModels,
    allow_byok: app.byokAllowed,
    return_origins: app.returnOrigins,
    logo_url: app.branding.logoUrl,
    accent_color: app.branding.accentColor,
    website_url: app.branding.websiteUrl,
    created_at: app.createdAt.toISOString(),
  };
}

function brandingChanges(body: {
  logo_url?: string | null;
  accent_color?: string | null;
  website_url?: string | null;
}) {
  return { logoUrl: body.logo_url, accentColor: body.accent_color, websiteUrl: body.website_url };
}

/** Branding given when the app is created, written right after it. */
async function brand(apps: AppsService, id: string, body: Parameters<typeof brandingChanges>[0]) {
  const changes = brandingChanges(body);
  return Object.values(changes).some((value) => value !== undefined)
    ? apps.update(id, { branding: changes })
    : null;
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
          referralRateMaxPpm:
            body.referral_rate_max === undefined
              ? undefined
              : parseRate(body.referral_rate_max, 'referral_rate_max'),
          allowedModels: body.allowed_models ?? null,
          byokAllowed: body.allow_byok,
          returnOrigins: body.return_origins,
        });
        const branded = await brand(apps, app.id, body);
        reply.code(201);
        return { ...appWire(branded ?? app), publishable_key: app.publishableKey, secret_key: app.secretKey };
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
        "Change an app: the operator any field; the app's own secret key its policies (allow_byok, return_origins) and branding (logo_url, accent_color, website_url)",
      tag: 'Apps',
      auth: ['admin', 'app'],
      params: z.object({ id: identifier }),
      body: z.object({ ...appFields, name: appFields.name.optional() }).strict(),
      response: { schema: appSchema },
      async handler({ params, body, principal }) {
        if (principal.kind === 'app') {
          if (principal.appId !== params.id)
            throw new TollgateError('not_found', `No such app: ${params.id}`);
          const operatorOnly = (
            ['name', 'referral_rate', 'referral_rate_max', 'allowed_models'] as const
          ).filter((field) => body[field] !== undefined);
          if (operatorOnly.length > 0) {
            throw new TollgateError('forbidden', `Only the operator can change ${operatorOnly.join(', ')}`, {
              param: operatorOnly[0],
            });
          }
        }
        const app = await apps.update(params.id, {
          name: body.name,
          referralRatePpm: body.referral_rate === undefined ? undefined : parseRate(body.referral_rate),
          referralRateMaxPpm:
            body.referral_rate_max === undefined
              ? undefined
              : parseRate(body.referral_rate_max, 'referral_rate_max'),
          allowedModels: body.allowed_models,
          byokAllowed: body.allow_byok,
          returnOrigins: body.return_origins,
          branding: brandingChanges(body),
        });
        return appWire(app);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/partner/referral-rate',
      summary: "The app's referral rate, the ceiling the operator set, and the history of changes",
      tag: 'Partner',
      auth: ['app'],
      response: { schema: referralRateSchema },
      async handler({ principal }) {
        if (principal.kind !== 'app') throw new TollgateError('forbidden', 'This needs an app secret key');
        return referralRateWire(
          await apps.get(principal.appId),
          await apps.referralRateHistory(principal.appId),
        );
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/partner/referral-rate',
      summary:
        "Set the app's own referral rate, up to the operator's ceiling (applies to work priced from now on)",
      tag: 'Partner',
      auth: ['app'],
      body: z.object({ referral_rate: appFields.referral_rate.unwrap() }).strict(),
      response: { schema: referralRateSchema },
      async handler({ principal, body }) {
        if (principal.kind !== 'app') throw new TollgateError('forbidden', 'This needs an app secret key');
        const app = await apps.setOwnReferralRate(principal.appId, parseRate(body.referral_rate));
        return referralRateWire(app, await apps.referralRateHistory(principal.appId));
      },
    }),
  ];
}

function referralRateWire(app: App, history: ReferralRateChange[]) {
  return {
    object: 'referral_rate',
    app: app.id,
    referral_rate: rateWire(app.referralRatePpm),
    referral_rate_max: rateWire(app.referralRateMaxPpm),
    history: history.map((change) => ({
      changed_by: change.changedBy,
      from: change.fromRatePpm === null ? null : rateWire(change.fromRatePpm),
      to: rateWire(change.toRatePpm),
      max: rateWire(change.maxRatePpm),
      created_at: change.createdAt.toISOString(),
    })),
  };
}
