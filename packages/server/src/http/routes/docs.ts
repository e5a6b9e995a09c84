import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * `/openapi.json` from the route list, and `/docs`: the reference rendered by Scalar's viewer with
 * navigation, schemas, examples and the error-code table. Its script is served by this server from
 * the package (no CDN, no web fonts): the page works offline.
 *
 * Scalar's plugin is one 4 MB module: loading it at start cost a tenth of a restart. It is loaded on
 * the first `/docs` request instead, into a Fastify instance of its own that the requests are passed
 * to (Fastify takes no new plugins once it listens).
 */
export function docsRoutes(http: FastifyInstance, document: () => unknown): void {
  let cached: unknown;
  http.get('/openapi.json', async () => {
    cached ??= document();
    return cached;
  });
  let viewer: Promise<FastifyInstance> | undefined;
  const loadViewer = async () => {
    const [{ default: fastify }, { default: scalarApiReference }] = await Promise.all([
      import('fastify'),
      import('@scalar/fastify-api-reference'),
    ]);
    const instance = fastify({ logger: false });
    await instance.register(scalarApiReference, {
      routePrefix: '/docs',
      configuration: {
        url: '/openapi.json',
        withDefaultFonts: false,
        metaData: { title: 'Tollgate API reference' },
      },
    });
    await instance.ready();
    return instance;
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    viewer ??= loadViewer().catch((error) => {
      viewer = undefined;
      throw error;
    });
    const answer = await (await viewer).inject({
      method: 'GET',
      url: request.url,
      headers: { accept: request.headers.accept ?? '*/*' },
    });
    const headers = Object.entries(answer.headers).filter(
      ([name]) => !['content-length', 'connection', 'transfer-encoding', 'date'].includes(name),
    );
    reply.code(answer.statusCode);
    for (const [name, value] of headers) if (value !== undefined) reply.header(name, value);
    return reply.send(answer.rawPayload);
  };
  http.get('/docs', { logLevel: 'warn' }, handler);
  http.get('/docs/*', { logLevel: 'warn' }, handler);
}
