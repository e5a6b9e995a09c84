/**
 * A deterministic simulation of the gate and the gateway (TigerBeetle's VOPR is the model). One seed
 * picks every step: grants (retried with the same Idempotency-Key, some across a crash), holds, captures
 * and voids, one-shot charges, streamed and plain chat calls through the gateway to a provider that the
 * simulation drives word by word and that lies about usage on demand, clients that leave midway,
 * providers that fail or cut the connection, clock jumps past the hold timeout followed by a sweep, and
 * SIGKILLs of the server. Every step waits until the state it caused is reached (never a fixed sleep),
 * then the invariants are checked against a model the simulation keeps:
 *
 * - the books balance (`auditLedger`), and no hold is open past its timeout after a sweep;
 * - every customer's balance is exactly what the model expects (grants in, settled charges out: no
 *   credit created, lost or counted twice) and its held amount is the sum of the holds it knows open;
 * - a gateway call's hold covers its worst case (input bound, every answer at the forwarded limit) and
 *   its charge is the price of what the provider reported (capped at that worst case), or, when usage
 *   is unusable, at least the price of what reached the client and never more than the hold;
 * - nothing is ever written off to `sys:loss` (every shortfall a hold could prevent, it did), and the
 *   apps' referral share is never more than their share of what was collected;
 * - a call refused for credits could not afford even the smallest answer.
 *
 * A failure throws `SimulationFailure` with the seed, the step and the last steps taken; the same seed
 * replays the same run (`npm run simulate -- --seed N`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ModelConfig } from '../../src/config/types.ts';
import { boundRequestTokens } from '../../src/gateway/formats/index.ts';
import { quote } from '../../src/pricing/quote.ts';
import { formatMicros, parseCredits } from '../../src/shared/money.ts';
import { dropSchema } from '../support/databases.ts';
import {
  ONE_TOKEN_WORDS,
  type ProviderCall,
  type ProviderFormat,
  type SimulatedProvider,
  startSimulatedProvider,
  type UsageReport,
} from './provider.ts';
import { Random } from './random.ts';
import { ServerHandle } from './server-handle.ts';

const ADMIN_KEY = 'tg_admin_simulation_0123456789';
/** Two models, one behind each provider dialect; clients of either dialect call both (translated). */
const MODEL_IDS = { openai: 'sim/chat', anthropic: 'sim/claude' } as const;
const HOLD_TIMEOUT_SECONDS = 900;
/** The app's referral rate, 0.1, in parts per million. */
const REFERRAL_PPM = 100_000n;
/** The gateway's smallest lowered answer (gateway-service.ts). */
const MINIMUM_OUTPUT_TOKENS = 16;
const MODEL_MAX_TOKENS = 4096;
/** How long a step may wait for the state it caused before the run fails as stuck. */
const STATE_TIMEOUT_MS = 15_000;
const TRACE_LENGTH = 40;

const CONFIG = `
holds: { timeout_seconds: ${HOLD_TIMEOUT_SECONDS} }
rate_limits: { requests_per_minute: 1000000 }
signup_bonus: "0"
models:
  - id: ${MODEL_IDS.openai}
    name: Simulated chat
    type: language
    category: text
    provider: openai
    upstream_model: sim-chat
    context_window: 128000
    max_tokens: ${MODEL_MAX_TOKENS}
    price: { input_per_million: "300", output_per_million: "1500" }
  - id: ${MODEL_IDS.anthropic}
    name: Simulated Claude
    type: language
    category: text
    provider: anthropic
    upstream_model: sim-claude
    context_window: 200000
    max_tokens: ${MODEL_MAX_TOKENS}
    price: { input_per_million: "300", output_per_million: "1500" }
`;

export interface SimulationOptions {
  seed: number;
  steps: number;
  /** PostgreSQL URL; PGlite in a temporary folder when absent. */
  databaseUrl?: string;
  /** Each step as it is taken. */
  log?: (line: string) => void;
}

export interface SimulationStats {
  steps: number;
  crashes: number;
  gatewayCalls: number;
  refusedForCredits: number;
  lowered: number;
  clientDisconnects: number;
  providerLies: number;
  sweptHolds: number;
  /** Output tokens a crashed server delivered and could not bill (the accepted cost of a crash). */
  unbilledAfterCrashTokens: number;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    problem: string,
    trace: string[],
  ) {
    super(
      `seed ${seed}, step ${step}: ${problem}\nlast steps:\n  ${trace.join('\n  ')}\nreplay: npm run simulate -- --seed ${seed} --steps ${step}`,
    );
  }
}

interface SimCustomer {
  id: string;
  userKey: string;
  /** What the model says the balance is: grants in, settled charges out. */
  expectedBalanceMicros: bigint;
}

interface NativeHold {
  id: string;
  customer: SimCustomer;
  amountMicros: bigint;
  expiresAtMs: number;
}

interface ClientState {
  status: number | null;
  /** Output words received, over all answers. */
  receivedWords: number;
  sawDone: boolean;
  ended: boolean;
  error: string | null;
  body: unknown;
  abort: AbortController;
}

interface GatewayCall {
  label: string;
  customer: SimCustomer;
  /** The client's dialect (which endpoint it calls); the model's provider may speak the other. */
  format: ProviderFormat;
  model: ModelConfig;
  stream: boolean;
  body: Record<string, unknown>;
  client: ClientState;
  provider: ProviderCall | null;
  holdId: string | null;
  holdMicros: bigint;
  /** The server that ran it was killed: its hold waits for the sweep. */
  orphaned: boolean;
}

type Operation =
  | 'grant'
  | 'grantAcrossCrash'
  | 'hold'
  | 'capture'
  | 'void'
  | 'charge'
  | 'openCall'
  | 'sendWords'
  | 'finishCall'
  | 'clientLeaves'
  | 'providerFails'
  | 'clockJump'
  | 'crash';

const WEIGHTS: Record<Operation, number> = {
  grant: 6,
  grantAcrossCrash: 1,
  hold: 6,
  capture: 5,
  void: 2,
  charge: 4,
  openCall: 12,
  sendWords: 14,
  finishCall: 9,
  clientLeaves: 3,
  providerFails: 3,
  clockJump: 3,
  crash: 1,
};

export async function simulate(options: SimulationOptions): Promise<SimulationStats> {
  const simulation = new Simulation(options);
  try {
    await simulation.setUp();
    await simulation.run();
    return simulation.stats;
  } finally {
    await simulation.tearDown();
  }
}

class Simulation {
  readonly stats: SimulationStats = {
    steps: 0,
    crashes: 0,
    gatewayCalls: 0,
    refusedForCredits: 0,
    lowered: 0,
    clientDisconnects: 0,
    providerLies: 0,
    sweptHolds: 0,
    unbilledAfterCrashTokens: 0,
  };
  private readonly random: Random;
  private readonly trace: string[] = [];
  private readonly folder = mkdtempSync(join(tmpdir(), 'tollgate-simulation-'));
  private readonly schema = `sim_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  private readonly models: Record<ProviderFormat, ModelConfig>;
  private provider!: SimulatedProvider;
  private server!: ServerHandle;
  private appSecretKey = '';
  private clockMs = Date.parse('2026-06-01T00:00:00Z');
  private readonly customers: SimCustomer[] = [];
  private readonly nativeHolds: NativeHold[] = [];
  private readonly calls: GatewayCall[] = [];
  /** Every credit captured from customers (the base of the referral share). */
  private collectedMicros = 0n;
  private step = 0;
  private afterSweep = false;

  constructor(private readonly options: SimulationOptions) {
    this.random = new Random(options.seed);
    writeFileSync(join(this.folder, 'tollgate.yaml'), CONFIG);
    const models = loadConfig(join(this.folder, 'tollgate.yaml'), {}).models;
    const model = (id: string) => models.find((candidate) => candidate.id === id)!;
    this.models = { openai: model(MODEL_IDS.openai), anthropic: model(MODEL_IDS.anthropic) };
  }

  async setUp(): Promise<void> {
    this.provider = await startSimulatedProvider();
    await this.startServer();
    const app = await this.http('POST', '/v1/apps', ADMIN_KEY, { name: 'simulated app', referral_rate: 0.1 });
    this.expect(app.status === 201, `creating the app answered ${app.status}`);
    this.appSecretKey = app.body.secret_key;
    for (let index = 0; index < 3; index++) {
      const created = await this.http('POST', '/v1/customers', this.appSecretKey, {
        external_id: `customer-${index}`,
      });
      this.expect(created.status === 201, `creating a customer answered ${created.status}`);
      this.customers.push({ id: created.body.id, userKey: created.body.user_key, expectedBalanceMicros: 0n });
    }
  }

  async tearDown(): Promise<void> {
    await this.server?.kill();
    for (const call of this.calls) call.client.abort.abort();
    await this.provider?.close();
    if (this.options.databaseUrl) await dropSchema(this.options.databaseUrl, this.schema).catch(() => {});
    // Never hides the run's own failure: a folder left behind is only litter in the temp dir.
    try {
      rmSync(this.folder, { recursive: true, force: true, maxRetries: 5 });
    } catch {}
  }

  async run(): Promise<void> {
    for (this.step = 1; this.step <= this.options.steps; this.step++) {
      const operation = this.random.weighted(WEIGHTS);
      this.afterSweep = false;
      await this.perform(operation);
      this.stats.steps = this.step;
      await this.checkInvariants();
    }
    this.note('settling everything');
    await this.settleEverything();
    await this.checkInvariants();
  }

  // ───────────────────────────── steps ─────────────────────────────

  private async perform(operation: Operation): Promise<void> {
    switch (operation) {
      case 'grant':
        return this.grant(false);
      case 'grantAcrossCrash':
        return this.grant(true);
      case 'hold':
        return this.hold();
      case 'capture':
        return this.capture();
      case 'void':
        return this.voidHold();
      case 'charge':
        return this.charge();
      case 'openCall':
        return this.openCall();
      case 'sendWords':
        return this.sendWords();
      case 'finishCall':
        return this.finishCall();
      case 'clientLeaves':
        return this.clientLeaves();
      case 'providerFails':
        return this.providerFails();
      case 'clockJump':
        return this.clockJump();
      case 'crash':
        return this.crash();
    }
  }

  /** A grant with an Idempotency-Key, replayed: the credits arrive once. Across a crash, the first send may or may not have landed. */
  private async grant(acrossCrash: boolean): Promise<void> {
    const customer = this.random.pick(this.customers);
    const amountMicros = BigInt(this.random.integer(1, 80)) * 100_000n;
    const key = `grant-${this.options.seed}-${this.step}`;
    const body = { amount: formatMicros(amountMicros), source: 'promo', reason: 'simulation' };
    const path = `/v1/customers/${customer.id}/grants`;
    this.note(`grant ${formatMicros(amountMicros)} to ${customer.id}${acrossCrash ? ' across a crash' : ''}`);
    if (acrossCrash) {
      const first = this.http('POST', path, this.appSecretKey, body, { 'idempotency-key': key }).catch(
        () => null,
      );
      await this.crashAndRestart();
      await first;
    }
    const answer = await this.http('POST', path, this.appSecretKey, body, { 'idempotency-key': key });
    this.expect(
      answer.status === 201 || answer.status === 200,
      `grant answered ${answer.status} ${JSON.stringify(answer.body)}`,
    );
    if (this.random.chance(0.3)) {
      const replay = await this.http('POST', path, this.appSecretKey, body, { 'idempotency-key': key });
      this.expect(
        replay.status === answer.status,
        `a replayed grant answered ${replay.status}, the first ${answer.status}`,
      );
      this.expect(
        JSON.stringify(replay.body) === JSON.stringify(answer.body),
        'a replayed grant answered another body',
      );
    }
    customer.expectedBalanceMicros += amountMicros;
  }

  private randomUsage() {
    return { input_tokens: this.random.integer(0, 3_000), output_tokens: this.random.integer(0, 3_000) };
  }

  private price(usage: { input_tokens: number; output_tokens: number }, model = this.models.openai): bigint {
    return quote(model, { usage }, REFERRAL_PPM).totalMicros;
  }

  private async available(customer: SimCustomer): Promise<bigint> {
    const [row] = await this.server.query<{ balance: string; held: string }>(
      'select balance_micros::text as balance, held_micros::text as held from customers where id = $1',
      [customer.id],
    );
    return BigInt(row!.balance) - BigInt(row!.held);
  }

  /** A native hold for a usage estimate: placed if and only if the customer can afford it. */
  private async hold(): Promise<void> {
    const customer = this.random.pick(this.customers);
    const usage = this.randomUsage();
    const amountMicros = this.price(usage);
    const available = await this.available(customer);
    this.note(`hold ${formatMicros(amountMicros)} for ${customer.id} (available ${formatMicros(available)})`);
    const answer = await this.http('POST', '/v1/holds', this.appSecretKey, {
      customer: customer.id,
      model: MODEL_IDS.openai,
      usage,
    });
    if (amountMicros > available) {
      this.expect(answer.status === 402, `a hold beyond the balance answered ${answer.status}`);
      return;
    }
    this.expect(
      answer.status === 201,
      `an affordable hold answered ${answer.status} ${JSON.stringify(answer.body)}`,
    );
    this.expect(
      parseCredits(answer.body.amount) === amountMicros,
      `hold of ${answer.body.amount}, expected ${formatMicros(amountMicros)}`,
    );
    this.nativeHolds.push({
      id: answer.body.id,
      customer,
      amountMicros,
      expiresAtMs: Date.parse(answer.body.expires_at),
    });
  }

  /** Captures an open hold (some above it: clamped), sometimes twice: charged once. Past its timeout, refused. */
  private async capture(): Promise<void> {
    if (this.nativeHolds.length === 0) return this.hold();
    const hold = this.random.pick(this.nativeHolds);
    const usage = this.randomUsage();
    const chargedMicros = this.price(usage) < hold.amountMicros ? this.price(usage) : hold.amountMicros;
    this.note(
      `capture ${hold.id} at ${formatMicros(this.price(usage))} (held ${formatMicros(hold.amountMicros)})`,
    );
    const answer = await this.http('POST', `/v1/holds/${hold.id}/capture`, this.appSecretKey, { usage });
    this.nativeHolds.splice(this.nativeHolds.indexOf(hold), 1);
    if (this.clockMs >= hold.expiresAtMs) {
      this.expect(answer.status === 409, `capturing a hold past its timeout answered ${answer.status}`);
      return;
    }
    this.expect(answer.status === 200, `capture answered ${answer.status} ${JSON.stringify(answer.body)}`);
    this.expect(
      parseCredits(answer.body.amount) === chargedMicros,
      `captured ${answer.body.amount}, expected ${formatMicros(chargedMicros)}`,
    );
    if (this.random.chance(0.3)) {
      const replay = await this.http('POST', `/v1/holds/${hold.id}/capture`, this.appSecretKey, { usage });
      this.expect(
        replay.status === 200 && replay.body.amount === answer.body.amount,
        `a repeated capture answered ${replay.status} ${JSON.stringify(replay.body)}`,
      );
    }
    hold.customer.expectedBalanceMicros -= chargedMicros;
    this.collectedMicros += chargedMicros;
  }

  private async voidHold(): Promise<void> {
    if (this.nativeHolds.length === 0) return this.hold();
    const hold = this.random.pick(this.nativeHolds);
    this.note(`void ${hold.id}`);
    const answer = await this.http('POST', `/v1/holds/${hold.id}/void`, this.appSecretKey, {});
    this.nativeHolds.splice(this.nativeHolds.indexOf(hold), 1);
    this.expect(
      answer.status === 200 || answer.status === 409,
      `void answered ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }

  /** A one-shot charge with an Idempotency-Key, sometimes replayed: charged once, never beyond the balance. */
  private async charge(): Promise<void> {
    const customer = this.random.pick(this.customers);
    const usage = this.randomUsage();
    const amountMicros = this.price(usage);
    const available = await this.available(customer);
    const key = `charge-${this.options.seed}-${this.step}`;
    this.note(
      `charge ${formatMicros(amountMicros)} to ${customer.id} (available ${formatMicros(available)})`,
    );
    const body = { customer: customer.id, model: MODEL_IDS.openai, usage };
    const answer = await this.http('POST', '/v1/charges', this.appSecretKey, body, {
      'idempotency-key': key,
    });
    if (this.random.chance(0.3)) {
      const replay = await this.http('POST', '/v1/charges', this.appSecretKey, body, {
        'idempotency-key': key,
      });
      this.expect(
        replay.status === answer.status,
        `a replayed charge answered ${replay.status}, the first ${answer.status}`,
      );
    }
    if (amountMicros > available) {
      this.expect(answer.status === 402, `a charge beyond the balance answered ${answer.status}`);
      return;
    }
    this.expect(
      answer.status === 200 || answer.status === 201,
      `charge answered ${answer.status} ${JSON.stringify(answer.body)}`,
    );
    this.expect(
      parseCredits(answer.body.amount) === amountMicros,
      `charged ${answer.body.amount}, expected ${formatMicros(amountMicros)}`,
    );
    customer.expectedBalanceMicros -= amountMicros;
    this.collectedMicros += amountMicros;
  }

  private words(count: number): string {
    return Array.from({ length: count }, () => this.random.pick(ONE_TOKEN_WORDS)).join(' ');
  }

  /**
   * A chat call through the gateway, streamed or not, with a random prompt, output limits (sometimes
   * both fields) and answer count. Returns once the provider has it, or once the client is answered
   * without it (refused).
   */
  private async openCall(): Promise<void> {
    const customer = this.random.pick(this.customers);
    const stream = this.random.chance(0.7);
    const format: ProviderFormat = this.random.chance(0.6) ? 'openai' : 'anthropic';
    const model = this.models[this.random.chance(0.6) ? 'openai' : 'anthropic'];
    const system = this.words(this.random.integer(1, 20));
    const prompt = this.words(this.random.integer(1, this.random.chance(0.2) ? 3_000 : 200));
    const body: Record<string, unknown> =
      format === 'openai'
        ? {
            model: model.id,
            messages: [
              { role: 'system', content: system },
              { role: 'user', content: prompt },
            ],
            stream,
          }
        : {
            model: model.id,
            system,
            messages: [{ role: 'user', content: prompt }],
            stream,
            max_tokens: this.random.integer(1, 5_000),
          };
    if (format === 'openai') {
      if (this.random.chance(0.7)) body.max_tokens = this.random.integer(1, 5_000);
      if (this.random.chance(0.3)) body.max_completion_tokens = this.random.integer(1, 5_000);
      // Several answers per call only where the provider can give them (Anthropic has no `n`).
      if (model === this.models.openai && this.random.chance(0.15)) body.n = this.random.integer(2, 3);
      if (stream && this.random.chance(0.5)) body.stream_options = { include_usage: true };
    }
    const label = `call ${this.stats.gatewayCalls + 1}`;
    this.stats.gatewayCalls++;
    const available = await this.available(customer);
    this.note(
      `${label}: ${format} ${stream ? 'stream' : 'plain'} to ${model.id} for ${customer.id}, max_tokens ${body.max_tokens ?? '-'}, max_completion_tokens ${body.max_completion_tokens ?? '-'}, n ${body.n ?? 1} (available ${formatMicros(available)})`,
    );
    const call: GatewayCall = {
      label,
      customer,
      format,
      model,
      stream,
      body,
      client: {
        status: null,
        receivedWords: 0,
        sawDone: false,
        ended: false,
        error: null,
        body: null,
        abort: new AbortController(),
      },
      provider: null,
      holdId: null,
      holdMicros: 0n,
      orphaned: false,
    };
    const receivedBefore = this.provider.received();
    void this.runClient(call);
    await this.waitFor(
      () => this.provider.received() > receivedBefore || call.client.ended,
      `${label} to reach the provider or be answered`,
    );
    if (this.provider.received() === receivedBefore) {
      return this.checkRefusedCall(call, available);
    }
    const providerCall = this.provider.open().find((open) => open.id === this.provider.received());
    this.expect(providerCall !== undefined, `${label} reached the provider but is not open there`);
    call.provider = providerCall!;
    // The usage report is decided now: an Anthropic stream gives its input count in its first event.
    call.provider.plannedReport = this.random.weighted<UsageReport>({
      honest: 14,
      inflated: 2,
      negative: 1,
      text: 1,
      huge: 1,
      absent: 2,
    });
    const knownHolds = new Set(this.calls.map((known) => known.holdId));
    // The provider may have the call before its hold is durable (decided from the server's cache, the
    // write on its way); the provider holds it open until told to finish, so the hold must appear.
    const fresh = await this.waitFor(async () => {
      const held = await this.server.query<{ id: string; amount: string }>(
        `select id, amount_micros::text as amount from holds where customer_id = $1 and status = 'held'`,
        [customer.id],
      );
      const unknown = held.filter(
        (row) => !knownHolds.has(row.id) && !this.nativeHolds.some((hold) => hold.id === row.id),
      );
      return unknown.length > 0 || call.client.ended ? unknown : null;
    }, `${label}'s hold to be durable`);
    this.expect(fresh.length === 1, `${label} reached the provider with ${fresh.length} new holds`);
    call.holdId = fresh[0]!.id;
    call.holdMicros = BigInt(fresh[0]!.amount);
    this.calls.push(call);
    // The hold covers the worst case of what reached the provider: the input bound and every answer at its limit.
    const choices = typeof body.n === 'number' ? body.n : 1;
    this.expect(
      call.provider.choices === choices,
      `${label}: n ${choices} reached the provider as ${call.provider.choices}`,
    );
    const forwardedLimit = call.provider.outputLimit;
    this.expect(Number.isFinite(forwardedLimit), `${label} reached the provider without an output limit`);
    const requested = [body.max_tokens, body.max_completion_tokens].filter(
      (limit) => typeof limit === 'number',
    ) as number[];
    for (const limit of [call.provider.body.max_tokens, call.provider.body.max_completion_tokens]) {
      if (typeof limit === 'number')
        this.expect(
          limit <= Math.min(MODEL_MAX_TOKENS, ...requested),
          `${label}: output limit ${limit} above the request's ${requested}`,
        );
    }
    if (forwardedLimit < Math.min(MODEL_MAX_TOKENS, ...requested)) this.stats.lowered++;
    const worstCase = this.price(
      {
        input_tokens: this.inputBound(call),
        output_tokens: choices * forwardedLimit,
      },
      model,
    );
    this.expect(
      call.holdMicros === worstCase,
      `${label}: hold ${formatMicros(call.holdMicros)}, worst case ${formatMicros(worstCase)}`,
    );
    this.expect(
      call.holdMicros <= available,
      `${label}: hold ${formatMicros(call.holdMicros)} above the available ${formatMicros(available)}`,
    );
  }

  private inputBound(call: GatewayCall): number {
    return boundRequestTokens(call.format, call.body as never);
  }

  /** A refused call: only for want of credits the smallest answer could not be paid. */
  private checkRefusedCall(call: GatewayCall, available: bigint): void {
    const choices = typeof call.body.n === 'number' ? call.body.n : 1;
    const requested = [call.body.max_tokens, call.body.max_completion_tokens].filter(
      (limit) => typeof limit === 'number',
    ) as number[];
    const smallest = Math.min(MINIMUM_OUTPUT_TOKENS, MODEL_MAX_TOKENS, ...requested);
    const smallestPrice = this.price(
      {
        input_tokens: this.inputBound(call),
        output_tokens: choices * smallest,
      },
      call.model,
    );
    this.expect(
      call.client.status === 402,
      `${call.label} was answered ${call.client.status} without reaching the provider: ${JSON.stringify(call.client.body)}`,
    );
    this.expect(
      smallestPrice > available,
      `${call.label} refused for credits though ${formatMicros(available)} pays the smallest answer (${formatMicros(smallestPrice)})`,
    );
    this.stats.refusedForCredits++;
  }

  /** The client: reads the whole answer as it comes, counting the words it receives. */
  private async runClient(call: GatewayCall): Promise<void> {
    const { client } = call;
    try {
      const anthropic = call.format === 'anthropic';
      const response = await fetch(
        `${this.server.url}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`,
        {
          method: 'POST',
          headers: anthropic
            ? {
                'x-api-key': call.customer.userKey,
                'anthropic-version': '2023-06-01',
                'content-type': 'application/json',
              }
            : { authorization: `Bearer ${call.customer.userKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(call.body),
          signal: client.abort.signal,
        },
      );
      client.status = response.status;
      if (response.status !== 200 || !call.stream) {
        const text = await response.text();
        try {
          client.body = JSON.parse(text);
        } catch {
          client.body = text;
        }
        if (response.status === 200) {
          const answer = client.body as {
            choices?: { message: { content: string } }[];
            content?: { text?: string }[];
          };
          const texts = anthropic
            ? (answer.content ?? []).map((block) => block.text ?? '')
            : (answer.choices ?? []).map((choice) => choice.message.content ?? '');
          for (const text of texts) client.receivedWords += countWords(text);
        }
        return;
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const data = event
            .split('\n')
            .find((line) => line.startsWith('data: '))
            ?.slice(6);
          if (data === '[DONE]') client.sawDone = true;
          else if (data) {
            const parsed = JSON.parse(data) as {
              type?: string;
              delta?: { text?: string };
              choices?: { delta?: { content?: string } }[];
            };
            if (parsed.type === 'message_stop') client.sawDone = true;
            if (parsed.type === 'content_block_delta')
              client.receivedWords += countWords(parsed.delta?.text ?? '');
            for (const choice of parsed.choices ?? [])
              client.receivedWords += countWords(choice.delta?.content ?? '');
          }
        }
      }
    } catch (error) {
      client.error = String(error);
    } finally {
      client.ended = true;
    }
  }

  private liveCalls(filter: (call: GatewayCall) => boolean = () => true): GatewayCall[] {
    return this.calls.filter(
      (call) => !call.orphaned && call.provider && !call.provider.ended && filter(call),
    );
  }

  /** The provider sends some words to each answer of an open call; they reach the client. */
  private async sendWords(): Promise<void> {
    const live = this.liveCalls();
    if (live.length === 0) return this.openCall();
    const call = this.random.pick(live);
    const provider = call.provider!;
    const lying = this.random.chance(0.05);
    const room = provider.outputLimit - provider.sentTokens / provider.choices;
    const words = lying ? this.random.integer(1, 200) : Math.min(room, this.random.integer(1, 60));
    if (words <= 0) return this.finishCall(call);
    if (lying) this.stats.providerLies++;
    this.note(
      `${call.label}: provider sends ${words} words per answer${lying ? ' (past the limit it was given)' : ''}`,
    );
    const receivedBefore = call.client.receivedWords;
    this.provider.sendWords(provider, words, () => this.random.pick(ONE_TOKEN_WORDS));
    if (call.stream) {
      await this.waitFor(
        () => call.client.receivedWords >= receivedBefore + words * provider.choices || call.client.ended,
        `${call.label}'s words to reach the client`,
      );
    }
  }

  /** The provider ends a call with usage that is honest, inflated or unusable, with or without `[DONE]`. */
  private async finishCall(chosen?: GatewayCall): Promise<void> {
    const live = this.liveCalls();
    if (!chosen && live.length === 0) return this.openCall();
    const call = chosen ?? this.random.pick(live);
    const report = call.provider!.plannedReport;
    if (report !== 'honest') this.stats.providerLies++;
    const withDone = this.random.chance(0.85);
    this.note(`${call.label}: provider finishes, usage ${report}${withDone ? '' : ', no [DONE]'}`);
    this.provider.finish(call.provider!, report, withDone);
    await this.waitFor(() => call.client.ended, `${call.label}'s client to get the whole answer`);
    this.expect(
      call.client.status === 200,
      `${call.label} answered ${call.client.status}: ${JSON.stringify(call.client.body)}`,
    );
    const sent = call.provider!.sentTokens;
    const bound = this.inputBound(call);
    const outputLimit = call.provider!.choices * call.provider!.outputLimit;
    // A call that delivered nothing is free, whatever the provider says it used (gateway-service.ts).
    const exact =
      sent === 0
        ? 0n
        : report === 'honest'
          ? this.price(
              {
                input_tokens: Math.min(call.provider!.promptTokens, bound),
                output_tokens: Math.min(sent, outputLimit),
              },
              call.model,
            )
          : report === 'inflated'
            ? call.holdMicros
            : null;
    await this.settle(call, exact, Math.min(call.client.receivedWords, outputLimit));
  }

  /** The client goes away mid-answer: the provider call is aborted and what reached the client is paid. */
  private async clientLeaves(): Promise<void> {
    const live = this.liveCalls();
    if (live.length === 0) return this.openCall();
    const call = this.random.pick(live);
    this.stats.clientDisconnects++;
    this.note(`${call.label}: client leaves after ${call.client.receivedWords} words`);
    const received = call.client.receivedWords;
    call.client.abort.abort();
    await this.waitFor(() => call.provider!.ended, `${call.label}'s provider call to be aborted`);
    await this.settle(
      call,
      null,
      call.stream ? Math.min(received, call.provider!.choices * call.provider!.outputLimit) : 0,
    );
  }

  /** The provider fails: before its first byte (free), or by cutting the connection midway (what arrived is paid). */
  private async providerFails(): Promise<void> {
    const live = this.liveCalls();
    if (live.length === 0) return this.openCall();
    const call = this.random.pick(live);
    const provider = call.provider!;
    if (!provider.started) {
      const status = this.random.pick([429, 500, 503] as const);
      this.note(`${call.label}: provider answers ${status} before the first byte`);
      this.provider.failBeforeStart(provider, status);
      await this.waitFor(() => call.client.ended, `${call.label}'s client to get the error`);
      this.expect(
        call.client.status !== null && call.client.status >= 400,
        `${call.label} answered ${call.client.status} to a provider ${status}`,
      );
      return this.settle(call, 0n, 0);
    }
    this.note(`${call.label}: provider cuts the connection after ${provider.sentTokens} tokens`);
    this.provider.cut(provider);
    await this.waitFor(() => call.client.ended, `${call.label}'s client to see the end`);
    await this.settle(
      call,
      null,
      Math.min(call.client.receivedWords, provider.choices * provider.outputLimit),
    );
  }

  /**
   * Waits until a call's hold is resolved and checks its charge: exactly `exactMicros` when known,
   * else between the price of `deliveredTokens` of output and the hold.
   */
  private async settle(
    call: GatewayCall,
    exactMicros: bigint | null,
    deliveredTokens: number,
  ): Promise<void> {
    const row = await this.waitFor(async () => {
      const [hold] = await this.server.query<{ status: string; captured: string | null }>(
        'select status, captured_micros::text as captured from holds where id = $1',
        [call.holdId],
      );
      return hold && hold.status !== 'held' ? hold : null;
    }, `${call.label}'s hold to be resolved`);
    const chargedMicros = row.status === 'captured' ? BigInt(row.captured ?? '0') : 0n;
    this.calls.splice(this.calls.indexOf(call), 1);
    this.expect(
      chargedMicros <= call.holdMicros,
      `${call.label}: charged ${formatMicros(chargedMicros)}, above its hold ${formatMicros(call.holdMicros)}`,
    );
    if (exactMicros !== null) {
      this.expect(
        chargedMicros === exactMicros,
        `${call.label}: charged ${formatMicros(chargedMicros)}, expected ${formatMicros(exactMicros)}`,
      );
    } else {
      const least = this.price({ input_tokens: 0, output_tokens: deliveredTokens }, call.model);
      this.expect(
        chargedMicros >= least,
        `${call.label}: charged ${formatMicros(chargedMicros)} for ${deliveredTokens} delivered tokens (at least ${formatMicros(least)})`,
      );
    }
    call.customer.expectedBalanceMicros -= chargedMicros;
    this.collectedMicros += chargedMicros;
  }

  /**
   * Time jumps (sometimes past the hold timeout) and the sweeper runs: native holds past their timeout
   * are voided, holds of calls still running on this server are kept alive, a crashed server's are voided.
   */
  private async clockJump(): Promise<void> {
    const seconds = this.random.chance(0.5)
      ? this.random.integer(1, 120)
      : this.random.integer(HOLD_TIMEOUT_SECONDS, HOLD_TIMEOUT_SECONDS * 2);
    this.clockMs += seconds * 1000;
    this.note(`clock +${seconds} s, then a sweep`);
    await this.server.ask({ type: 'clock', milliseconds: this.clockMs });
    await this.sweep();
  }

  private async sweep(): Promise<void> {
    const result = await this.server.ask<{ holdsVoided?: number }>({ type: 'sweep' });
    this.afterSweep = true;
    this.stats.sweptHolds += Number(result?.holdsVoided ?? 0);
    for (const hold of [...this.nativeHolds]) {
      if (hold.expiresAtMs <= this.clockMs) this.nativeHolds.splice(this.nativeHolds.indexOf(hold), 1);
    }
    for (const call of this.calls.filter((known) => known.orphaned)) {
      const [hold] = await this.server.query<{ status: string; expires: string }>(
        `select status, (extract(epoch from expires_at) * 1000)::bigint::text as expires from holds where id = $1`,
        [call.holdId],
      );
      if (Number(hold!.expires) <= this.clockMs) {
        this.expect(
          hold!.status === 'voided',
          `${call.label}: a crashed call's hold past its timeout is ${hold!.status} after the sweep`,
        );
        this.stats.unbilledAfterCrashTokens += call.provider?.sentTokens ?? 0;
        this.calls.splice(this.calls.indexOf(call), 1);
      }
    }
  }

  private async crash(): Promise<void> {
    this.note('crash: SIGKILL, restart');
    await this.crashAndRestart();
  }

  private async crashAndRestart(): Promise<void> {
    this.stats.crashes++;
    await this.server.kill();
    for (const call of this.calls) {
      if (call.orphaned) continue;
      call.orphaned = true;
    }
    // The killed server's connections are gone: its clients see an error, its provider calls a close.
    await this.waitFor(
      () => this.calls.every((call) => call.client.ended && (!call.provider || call.provider.ended)),
      "the crashed server's calls to end",
    );
    await this.startServer();
  }

  private async startServer(): Promise<void> {
    this.server = await ServerHandle.start(
      {
        configPath: join(this.folder, 'tollgate.yaml'),
        dataDir: join(this.folder, 'data'),
        databaseUrl: this.options.databaseUrl,
        schema: this.options.databaseUrl ? this.schema : undefined,
        clockMilliseconds: this.clockMs,
      },
      {
        TOLLGATE_ADMIN_KEY: ADMIN_KEY,
        TOLLGATE_SECRET: 'simulation-secret-0123456789abcdef',
        OPENAI_BASE_URL: `${this.provider.url}/v1`,
        OPENAI_API_KEY: 'sk-simulation-provider-key',
        ANTHROPIC_BASE_URL: this.provider.url,
        ANTHROPIC_API_KEY: 'sk-ant-simulation-provider-key',
        // The provider answers when the simulation says so; the gateway must not give up first.
        TOLLGATE_UPSTREAM_TIMEOUT_MS: '600000',
      },
    );
  }

  /** The end: every call finished honestly, every hold captured or voided, then time past every timeout. */
  private async settleEverything(): Promise<void> {
    for (const call of this.liveCalls()) await this.finishCall(call);
    while (this.nativeHolds.length > 0) {
      this.step++;
      await this.voidHold();
    }
    this.clockMs += (HOLD_TIMEOUT_SECONDS + 1) * 1000;
    await this.server.ask({ type: 'clock', milliseconds: this.clockMs });
    await this.sweep();
    const open = await this.server.query<{ count: string }>(
      `select count(*)::text as count from holds where status = 'held'`,
    );
    this.expect(open[0]!.count === '0', `${open[0]!.count} holds still open at the end`);
  }

  // ───────────────────────────── invariants ─────────────────────────────

  private async checkInvariants(): Promise<void> {
    const audit = await this.server.ask<{ ok: boolean; problems: unknown[] }>({
      type: 'audit',
      // Right after a sweep nothing may be open past its timeout; between sweeps, only the books are checked.
      graceSeconds: this.afterSweep ? 0 : HOLD_TIMEOUT_SECONDS * 100,
    });
    this.expect(audit.ok, `audit: ${JSON.stringify(audit.problems)}`);
    for (const customer of this.customers) {
      const [row] = await this.server.query<{ balance: string; held: string }>(
        'select balance_micros::text as balance, held_micros::text as held from customers where id = $1',
        [customer.id],
      );
      const balance = BigInt(row!.balance);
      const held = BigInt(row!.held);
      this.expect(
        balance === customer.expectedBalanceMicros,
        `${customer.id}: balance ${formatMicros(balance)}, the model says ${formatMicros(customer.expectedBalanceMicros)}`,
      );
      const knownHeld =
        this.nativeHolds
          .filter((hold) => hold.customer === customer)
          .reduce((sum, hold) => sum + hold.amountMicros, 0n) +
        this.calls
          .filter((call) => call.customer === customer)
          .reduce((sum, call) => sum + call.holdMicros, 0n);
      this.expect(
        held === knownHeld,
        `${customer.id}: ${formatMicros(held)} held, the model knows of ${formatMicros(knownHeld)}`,
      );
      this.expect(held <= balance, `${customer.id}: available below zero`);
    }
    const [accounts] = await this.server.query<{ loss: string; referral: string }>(
      `select coalesce(sum(amount_micros) filter (where account_id = 'sys:loss'), 0)::text as loss,
              coalesce(sum(amount_micros) filter (where account_id like 'ref:%'), 0)::text as referral
       from ledger_entries`,
    );
    this.expect(
      BigInt(accounts!.loss) === 0n,
      `${formatMicros(BigInt(accounts!.loss))} written off to sys:loss`,
    );
    const referral =
      BigInt(accounts!.referral) < 0n ? -BigInt(accounts!.referral) : BigInt(accounts!.referral);
    // The customer pays the price plus the share (1 + 0.1); the app's part of what was collected is 1/11.
    this.expect(
      referral * 11n <= this.collectedMicros,
      `referral ${formatMicros(referral)} above its share of ${formatMicros(this.collectedMicros)} collected`,
    );
  }

  // ───────────────────────────── plumbing ─────────────────────────────

  private note(line: string): void {
    const entry = `#${this.step} ${line}`;
    this.trace.push(entry);
    if (this.trace.length > TRACE_LENGTH) this.trace.shift();
    this.options.log?.(entry);
  }

  private expect(condition: boolean, problem: string): asserts condition {
    if (!condition) throw new SimulationFailure(this.options.seed, this.step, problem, this.trace);
  }

  private async waitFor<Value>(
    check: () => Value | Promise<Value>,
    what: string,
  ): Promise<NonNullable<Value>> {
    const deadline = Date.now() + STATE_TIMEOUT_MS;
    for (;;) {
      const value = await check();
      if (value) return value as NonNullable<Value>;
      this.expect(Date.now() < deadline, `stuck: waited ${STATE_TIMEOUT_MS} ms for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async http(
    method: string,
    path: string,
    key: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  }
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
