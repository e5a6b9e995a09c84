/** Small assertions shared by the end-to-end tests. */
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

export interface CallResult {
  status: number;
  body: any;
  headers: Headers;
}

/** A native error answer: exactly `{"error":{"code","message",…details}}` with the given status and code. */
export function expectError(response: CallResult, status: number, code: string): Record<string, unknown> {
  const context = `${status} ${code} expected, got ${response.status} ${JSON.stringify(response.body)}`;
  expect(response.status, context).toBe(status);
  expect(response.body, context).toBeTypeOf('object');
  expect(Object.keys(response.body), context).toEqual(['error']);
  expect(response.body.error.code, context).toBe(code);
  expect(typeof response.body.error.message, context).toBe('string');
  expect(response.body.error.message.length, context).toBeGreaterThan(0);
  expect(response.headers.get('content-type') ?? '', context).toMatch(/application\/json/);
  return response.body.error;
}

export function expectStatus(response: CallResult, status: number): any {
  expect(response.status, `expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`).toBe(
    status,
  );
  return response.body;
}

/** Everything a customer's money looks like from outside: balance breakdown and the full history. */
export async function moneySnapshot(server: TestServer, secretKey: string, customer: string) {
  const view = expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: secretKey }), 200);
  const history = expectStatus(
    await server.call('GET', `/v1/customers/${customer}/transactions?limit=500`, { key: secretKey }),
    200,
  );
  return {
    balance: view.balance,
    pending: view.pending,
    available: view.available,
    grants: view.grants,
    transactions: history.data.map((row: any) => ({
      id: row.id,
      amount: row.amount,
      balance_after: row.balance_after,
    })),
  };
}

/** Rows come newest first: each row's balance_after is the one below it plus its amount. */
export function expectHistoryReplays(rows: { amount: number; balance_after: number }[]): void {
  let running = 0;
  for (const row of [...rows].reverse()) {
    running = Math.round((running + row.amount) * 1e6) / 1e6;
    expect(row.balance_after).toBeCloseTo(running, 6);
  }
}

/** Value of a Prometheus counter (summed over label sets that contain `labels`). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line.trim());
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`)))
      total += Number(match[3]);
  }
  return total;
}

/** Polls until `check` is truthy (bounded): the gateway resolves holds after the client has its answer. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}
