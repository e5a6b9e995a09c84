/**
 * A gateway call starts its provider call as soon as the ledger has decided the hold from its cache,
 * while the hold's write is on its way (`GatewayService.hold`, `Ledger.holdEarly`). What a crash in that
 * window costs, with a real server process killed with SIGKILL, PostgreSQL behind a TCP proxy that
 * holds the hold's write back or its answer:
 * - the write never reached the database: no hold exists, nothing was delivered, nothing is charged;
 * - the hold committed but the server never heard: the hold is left held until its timeout, then the
 *   sweeper voids it; nothing was delivered, nothing is charged.
 * Either way the provider had the call (its work is the operator's cost, as with any call a crash
 * cuts), and the books audit clean.
 *
 * PostgreSQL only (TEST_DATABASE_URL): the proxy sits in front of a database server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import { sweepOnce } from '../src/ledger/sweeper.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { openTestDatabase, type TestDatabase, testBackends } from './support/databases.ts';
import { expectStatus, waitFor } from './support/expectations.ts';
import { ADMIN_KEY } from './support/server.ts';
import {
  callServer as call,
  type ServerProcess,
  startServerProcess,
  stopServerProcess,
} from './support/server-process.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

const postgres = testBackends().find((backend) => backend.name === 'postgres');
/** What only the write of a new hold carries (`tg_ledger_write`'s document: holds inserted). */
const HOLD_WRITE_MARKER = '"hi":[["hold_';

describe.skipIf(!postgres)('a crash while the hold is being written, the provider call started', () => {
  let database: TestDatabase;
  let upstream: FakeUpstream;
  const running = new Set<ServerProcess>();
  let secretKey: string;

  beforeAll(async () => {
    database = await openTestDatabase(postgres!);
    upstream = await startFakeUpstream();
    const setup = await startServerProcess(database);
    running.add(setup);
    const app = expectStatus(
      await call(setup, 'POST', '/v1/apps', { key: ADMIN_KEY, body: { name: 'Crash', referral_rate: 0.1 } }),
      201,
    );
    secretKey = app.secret_key;
    await stopServerProcess(setup);
    running.delete(setup);
  }, 120_000);

  afterAll(async () => {
    for (const server of running) await stopServerProcess(server);
    await upstream?.close();
    await database?.close();
  });

  /** A server process whose database connections go through `proxy`. */
  async function serverBehind(proxy: TcpProxy): Promise<ServerProcess> {
    const url = new URL(database.url!);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const server = await startServerProcess(
      { ...database, url: url.toString() },
      { OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: 'sk-platform-openai' },
    );
    running.add(server);
    return server;
  }

  async function killed(server: ServerProcess): Promise<void> {
    const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
    server.child.kill('SIGKILL');
    await exited;
    running.delete(server);
  }

  function chat(server: ServerProcess, userKey: string, content: string) {
    return fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${userKey}` },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 20, messages: [{ role: 'user', content }] }),
    });
  }

  async function balanceMicros(customerId: string): Promise<bigint> {
    const [row] = await database.db.query<{ balance: string }>(
      'select balance_micros::text as balance from customers where id = $1',
      [customerId],
    );
    return BigInt(row!.balance);
  }

  async function holdsOf(customerId: string) {
    return database.db.query<{ status: string; void_reason: string | null }>(
      'select status, void_reason from holds where customer_id = $1 order by created_at',
      [customerId],
    );
  }

  /** The sweeper of a later server, an hour on: every hold past its timeout is voided. */
  async function sweptAndAudited(): Promise<void> {
    const clock = new ManualClock(new Date(Date.now() + 3_600_000));
    const ledger = new Ledger(database.db, clock);
    for (;;) {
      const swept = await sweepOnce(database.db, ledger, clock);
      if (swept.holdsVoided === 0) break;
    }
    const report = await auditLedger(database.db, clock, 3600);
    expect(report.problems).toEqual([]);
  }

  /**
   * One call answered (the server's ledger now has the account cached: the next hold is decided
   * without reading the database), then a call whose hold's write the proxy stops: `trip` either holds
   * the write back or forwards it and holds back the answer. The provider has the call while the write
   * is stuck; then the server is killed.
   */
  async function crashWhileHolding(trip: (proxy: TcpProxy) => Promise<void>) {
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(database.url!).port || 5432),
    });
    const server = await serverBehind(proxy);
    const customer = expectStatus(
      await call(server, 'POST', '/v1/customers', { key: secretKey, body: { external_id: randomUUID() } }),
      201,
    );
    const warm = await chat(server, customer.user_key, 'warm the cache');
    expect(warm.status).toBe(200);
    await warm.json();
    const balanceBefore = await balanceMicros(customer.id);

    const marker = `crash-${randomUUID()}`;
    const tripped = trip(proxy);
    upstream.queueBehavior({ behavior: 'hang' });
    const answer = chat(server, customer.user_key, marker).then(
      (response) => response.status,
      () => 'connection lost',
    );
    await tripped;
    // The hold is not durable (or the server has not heard that it is), and the provider has the call.
    const sent = await waitFor(
      () => upstream.requests.find((request) => JSON.stringify(request.body).includes(marker)),
      'the provider to have the call',
    );
    await killed(server);
    expect(await answer).toBe('connection lost');
    await waitFor(() => sent.clientDisconnected || null, 'the provider call to end with the server');
    return { proxy, customer, balanceBefore };
  }

  it('the write never reached the database: no hold, nothing charged', async () => {
    const { proxy, customer, balanceBefore } = await crashWhileHolding((proxy) =>
      proxy.pauseBeforeSending(HOLD_WRITE_MARKER),
    );
    await proxy.close(); // what it held back is dropped with the connection
    // Only the warm call's hold exists, captured.
    expect((await holdsOf(customer.id)).map((hold) => hold.status)).toEqual(['captured']);
    expect(await balanceMicros(customer.id)).toBe(balanceBefore);
    await sweptAndAudited();
    expect(await balanceMicros(customer.id)).toBe(balanceBefore);
  });

  it('the hold committed but the server never heard: voided at its timeout, nothing charged', async () => {
    const { proxy, customer, balanceBefore } = await crashWhileHolding(async (proxy) => {
      await proxy.pauseAfterSending(HOLD_WRITE_MARKER);
    });
    const committed = await waitFor(async () => {
      const holds = await holdsOf(customer.id);
      return holds.length === 2 ? holds : null;
    }, 'the hold to commit');
    expect(committed.map((hold) => hold.status)).toEqual(['captured', 'held']);
    await proxy.close();
    await sweptAndAudited();
    expect((await holdsOf(customer.id)).map((hold) => hold.status)).toEqual(['captured', 'voided']);
    expect(await balanceMicros(customer.id)).toBe(balanceBefore);
  });
});
