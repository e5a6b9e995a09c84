/**
 * JSON over fetch with the signed-in key. Errors come back as ApiError with the server's `code`
 * (`insufficient_credits`, `invalid_user_key`, …) so the pages can branch on them.
 */
import { randomId } from './dom.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Api {
  get<T = any>(path: string): Promise<T>;
  post<T = any>(path: string, body?: unknown, options?: { idempotent?: boolean }): Promise<T>;
  put<T = any>(path: string, body?: unknown): Promise<T>;
  patch<T = any>(path: string, body?: unknown): Promise<T>;
  delete<T = any>(path: string): Promise<T>;
  /** A file the server streams (a CSV statement), read whole, with the signed-in key. */
  file(path: string): Promise<Blob>;
}

export function createApi(key: string | null, onUnauthorized?: (error: ApiError) => void): Api {
  async function request<T>(method: string, path: string, body?: unknown, idempotent = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    // One key per user action: a retried click after a network error cannot buy twice.
    if (idempotent) headers['idempotency-key'] = randomId();
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(
        0,
        'network_error',
        'Could not reach the server. Check your connection and try again.',
      );
    }
    const text = await response.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const error = parsed?.error ?? {};
      const { code, message, ...details } = error;
      const failure = new ApiError(
        response.status,
        typeof code === 'string' ? code : 'http_error',
        typeof message === 'string' ? message : `The server answered ${response.status}`,
        details,
      );
      if (response.status === 401 && onUnauthorized) onUnauthorized(failure);
      throw failure;
    }
    return parsed as T;
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body, options) => request('POST', path, body, options?.idempotent ?? false),
    put: (path, body) => request('PUT', path, body),
    patch: (path, body) => request('PATCH', path, body),
    delete: (path) => request('DELETE', path),
    async file(path) {
      const response = await fetch(path, { headers: key ? { authorization: `Bearer ${key}` } : {} }).catch(
        () => null,
      );
      if (response?.ok) return response.blob();
      // The error is JSON like any other: read it through the same path.
      return request<never>('GET', path);
    },
  };
}

/** What to tell a person about an error. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : 'Something went wrong';
}
