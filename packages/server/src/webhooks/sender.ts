/**
 * One HTTP attempt: POST the signed body, bounded by a timeout, never following a redirect (a 3xx is
 * a failed attempt: the app must register the final URL), through the target guard. Reads at most a
 * few KB of the answer, for the delivery's history.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMilliseconds: number;
  lookup: LookupFunction;
}

export interface SendOutcome {
  statusCode: number | null;
  error: string | null;
  latencyMilliseconds: number;
}

const KEPT_ANSWER_BYTES = 2048;

export function sendWebhook(request: SendRequest): Promise<SendOutcome> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ statusCode, error, latencyMilliseconds: latency() });
    };
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      finish(null, 'invalid URL');
      return;
    }
    const transport = url.protocol === 'https:' ? https : http;
    const outgoing = transport.request(url, {
      method: 'POST',
      headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
      lookup: request.lookup,
      agent: false,
    });
    const timer = setTimeout(() => {
      outgoing.destroy(new Error(`timed out after ${request.timeoutMilliseconds} ms`));
    }, request.timeoutMilliseconds);
    outgoing.on('error', (error) => finish(null, error.message));
    outgoing.on('response', (response) => {
      const status = response.statusCode ?? 0;
      let kept = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (kept.length < KEPT_ANSWER_BYTES) kept += chunk.slice(0, KEPT_ANSWER_BYTES - kept.length);
      });
      response.on('end', () => {
        if (status >= 200 && status < 300) return finish(status, null);
        const redirect =
          status >= 300 && status < 400
            ? ` (redirect to ${response.headers.location ?? '?'} not followed)`
            : '';
        finish(status, `HTTP ${status}${redirect}${kept ? `: ${kept.trim().slice(0, 500)}` : ''}`);
      });
      response.on('error', (error) => finish(status, error.message));
    });
    outgoing.end(request.body);
  });
}
