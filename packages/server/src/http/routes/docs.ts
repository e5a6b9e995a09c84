import scalarApiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';

/**
 * `/openapi.json` from the route list, and `/docs`: the reference rendered by Scalar's viewer with
 * navigation, schemas, examples and the error-code table. Its script is served by this server from
 * the package (no CDN, no web fonts): the page works offline.
 */
export function docsRoutes(http: FastifyInstance, document: () => unknown): void {
  let cached: unknown;
  http.get('/openapi.json', async () => {
    cached ??= document();
    return cached;
  });
  http.register(scalarApiReference, {
    routePrefix: '/docs',
    logLevel: 'warn',
    configuration: {
      url: '/openapi.json',
      withDefaultFonts: false,
      metaData: { title: 'Tollgate API reference' },
    },
  });
}
