/**
 * Keep-alive connection pools to the providers (undici), one per origin. The gateway's upstream calls
 * all go through here, so connection reuse and timeouts are set in one place.
 */
import { createRequire } from 'node:module';
import type { Pool } from 'undici';

// undici (~60 files) is read on the first call to a provider, not at start.
let undiciPool: typeof Pool | undefined;
const poolClass = () => {
  undiciPool ??= (createRequire(import.meta.url)('undici') as typeof import('undici')).Pool;
  return undiciPool;
};

export interface UpstreamTimeouts {
  /** Until the response headers arrive. */
  headersMilliseconds: number;
  /** Between two body chunks (a stalled stream). */
  bodyMilliseconds: number;
}

export class Upstreams {
  private readonly pools = new Map<string, Pool>();

  constructor(readonly timeouts: UpstreamTimeouts) {}

  /** Pool and request path for a provider base URL plus an endpoint path (`/chat/completions`). */
  target(baseUrl: string, endpointPath: string): { pool: Pool; path: string } {
    const url = new URL(baseUrl);
    const origin = url.origin;
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new (poolClass())(origin, {
        connections: 256,
        keepAliveTimeout: 30_000,
        headersTimeout: this.timeouts.headersMilliseconds,
        bodyTimeout: this.timeouts.bodyMilliseconds,
      });
      this.pools.set(origin, pool);
    }
    const basePath = url.pathname.replace(/\/+$/, '');
    return { pool, path: `${basePath}${endpointPath}` };
  }

  /**
   * A JSON POST answered in one piece (embeddings, token counts): the status and the body's text.
   * Throws what undici throws when the provider does not answer; the caller decides what that costs.
   */
  async postJson(
    baseUrl: string,
    endpointPath: string,
    headers: Record<string, string>,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const { pool, path } = this.target(baseUrl, endpointPath);
    const response = await pool.request({
      method: 'POST',
      path,
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close().catch(() => {})));
    this.pools.clear();
  }
}
