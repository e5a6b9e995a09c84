/**
 * A local stand-in for OpenRouter's OAuth PKCE endpoints (node:http):
 * - `GET /auth?callback_url&code_challenge&code_challenge_method=S256` "signs the user in" at once and
 *   redirects to the callback with `code` appended (or without one, when told to deny);
 * - `POST /api/v1/auth/keys {code, code_verifier, code_challenge_method}` checks the verifier against
 *   the challenge the code was issued for, once, and answers `{key}`;
 * - `GET /api/v1/key` with `Authorization: Bearer` answers the key's info for a key it issued (or one
 *   made acceptable with `acceptKey`) and 401 for any other: Tollgate checks a key there before it
 *   stores it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOpenRouter {
  baseUrl: string;
  /** Keys handed out, newest last. */
  issuedKeys: string[];
  /** Every body POSTed to /api/v1/auth/keys. */
  exchanges: Record<string, unknown>[];
  /** The next /auth visit redirects without a code (the user declined). */
  denyNext(): void;
  /** `GET /api/v1/key` accepts `key` from now on (keys it issued are always accepted). */
  acceptKey(key: string): void;
  /** The next `GET /api/v1/key` answers 401 whatever the key (a key revoked right after it was issued). */
  rejectNextKeyCheck(): void;
  /** How many key checks were made. */
  keyChecks: number;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeOpenRouter(): Promise<FakeOpenRouter> {
  const codes = new Map<string, { challenge: string; used: boolean }>();
  const issuedKeys: string[] = [];
  const exchanges: Record<string, unknown>[] = [];
  const acceptedKeys = new Set<string>();
  let deny = false;
  let rejectNextKeyCheck = false;
  const state = { keyChecks: 0 };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method === 'GET' && url.pathname === '/auth') {
      const callback = url.searchParams.get('callback_url');
      const challenge = url.searchParams.get('code_challenge');
      if (!callback || !challenge || url.searchParams.get('code_challenge_method') !== 'S256') {
        return json(400, { error: { message: 'callback_url and an S256 code_challenge are required' } });
      }
      const target = new URL(callback);
      if (deny) {
        deny = false;
        target.searchParams.set('error', 'access_denied');
      } else {
        const code = `code_${randomBytes(12).toString('hex')}`;
        codes.set(code, { challenge, used: false });
        target.searchParams.set('code', code);
      }
      response.writeHead(302, { location: target.toString() });
      return response.end();
    }
    if (request.method === 'POST' && url.pathname === '/api/v1/auth/keys') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readBody(request));
      } catch {
        return json(400, { error: { message: 'invalid JSON' } });
      }
      exchanges.push(body);
      const entry = codes.get(String(body.code));
      if (!entry || entry.used) return json(403, { error: { message: 'Invalid code' } });
      const verifier = String(body.code_verifier ?? '');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (body.code_challenge_method !== 'S256' || challenge !== entry.challenge) {
        return json(403, { error: { message: 'Invalid code_verifier' } });
      }
      entry.used = true;
      const key = `sk-or-v1-${randomBytes(24).toString('hex')}`;
      issuedKeys.push(key);
      return json(200, { key, user_id: 'user_fake' });
    }
    if (request.method === 'GET' && url.pathname === '/api/v1/key') {
      state.keyChecks += 1;
      const key = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      const known = issuedKeys.includes(key) || acceptedKeys.has(key);
      if (!known || rejectNextKeyCheck) {
        rejectNextKeyCheck = false;
        return json(401, { error: { message: 'No auth credentials found', code: 401 } });
      }
      return json(200, {
        data: { label: `${key.slice(0, 12)}…`, usage: 0, limit: null, is_free_tier: false },
      });
    }
    json(404, { error: { message: 'not found' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    issuedKeys,
    exchanges,
    denyNext() {
      deny = true;
    },
    acceptKey(key) {
      acceptedKeys.add(key);
    },
    rejectNextKeyCheck() {
      rejectNextKeyCheck = true;
    },
    get keyChecks() {
      return state.keyChecks;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
