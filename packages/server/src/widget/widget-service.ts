/**
 * The checkout widget's server side: who the visitor is (an anonymous customer made on first
 * purchase, or an email customer after a one-time code), and what the widget may show. Everything
 * is scoped to the app the publishable key names; the publishable key is public, so every entry
 * point that creates something is rate limited by client address, and nothing it creates gets the
 * signup bonus until an email is verified or a payment made (customers/signup-bonus.ts).
 */
import type { App, AppsService } from '../apps/apps-service.ts';
import type { KeyStore } from '../auth/principals.ts';
import type { TollgateConfig } from '../config/types.ts';
import type { CustomerRecord, CustomersService } from '../customers/customers-service.ts';
import { ANONYMOUS_PREFIX, EMAIL_PREFIX, type SignupBonus } from '../customers/signup-bonus.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { CheckoutProvider } from '../payments/checkout-provider.ts';
import type { RateLimiter } from '../ratelimit/rate-limiter.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { randomToken } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';
import type { GuestMerge, MergeOutcome } from './guest-merge.ts';
import { LoginCodes } from './login-codes.ts';
import type { LoginCodeSender } from './login-mail.ts';
import { LOGIN_CODE_TTL_SECONDS, normalizeEmail } from './otp.ts';
import { type PurchaseOptions, purchaseOptions } from './purchase-options.ts';

/** Stable `reason` values next to the contract's error `code`, for the widget to branch on. */
export const WidgetErrorReasons = {
  invalidCode: 'invalid_code',
  codeExpired: 'code_expired',
  tooManyAttempts: 'too_many_attempts',
  emailLoginDisabled: 'email_login_disabled',
  emailNotSent: 'email_not_sent',
} as const;

export interface WidgetLimiters {
  /** New anonymous customers, per client address. */
  session: RateLimiter;
  /** Codes sent, per app and email. */
  loginStartPerEmail: RateLimiter;
  /** Codes sent, per client address. */
  loginStartPerClient: RateLimiter;
  /** Guesses, per client address (each code also allows only five). */
  loginVerify: RateLimiter;
}

export interface WidgetServiceDeps {
  db: Database;
  clock: Clock;
  config: TollgateConfig;
  keys: KeyStore;
  apps: AppsService;
  customers: CustomersService;
  ledger: Ledger;
  checkout: CheckoutProvider;
  signupBonus: SignupBonus;
  merges: GuestMerge;
  sender: LoginCodeSender;
  limiters: WidgetLimiters;
  stripePublishableKey: string | null;
  log: (message: string, error?: unknown) => void;
}

export interface WidgetConfigView extends PurchaseOptions {
  app: { name: string };
  /** Credits a visitor earns by verifying an email or making a first payment. */
  signup_bonus: number;
  test_mode: boolean;
  /** False when this server refuses to sell (test mode not allowed here, no Stripe keys). */
  payments_enabled: boolean;
  checkout_provider: 'stripe' | 'test';
  stripe_publishable_key: string | null;
  email_login: boolean;
}

export interface SignedIn {
  user_key: string;
  balance: number;
  email: string | null;
  /** When a guest's credits moved into the account signed in to. */
  merged?: { credits: number; forfeited_bonus: number };
}

export { ANONYMOUS_PREFIX, EMAIL_PREFIX };

export class WidgetService {
  private readonly codes: LoginCodes;

  constructor(private readonly deps: WidgetServiceDeps) {
    this.codes = new LoginCodes(deps.db, deps.clock);
  }

  async appFor(publishableKey: string): Promise<App> {
    const appId = await this.deps.keys.appForPublishableKey(publishableKey);
    return this.deps.apps.get(appId);
  }

  async config(publishableKey: string, currency?: string): Promise<WidgetConfigView> {
    const app = await this.appFor(publishableKey);
    const mode = this.deps.checkout.mode();
    return {
      app: { name: app.name },
      ...purchaseOptions(this.deps.config, currency),
      signup_bonus: microsToCredits(this.deps.signupBonus.amountMicros),
      test_mode: mode.kind === 'test',
      payments_enabled: mode.kind !== 'off',
      checkout_provider: this.deps.checkout.name,
      stripe_publishable_key: this.deps.checkout.name === 'test' ? null : this.deps.stripePublishableKey,
      email_login: this.deps.sender.delivery !== 'disabled',
    };
  }

  /**
   * A new anonymous customer and its first user key, without the signup bonus (anyone can open one).
   * An email given here is kept only as a contact address (receipts); signing in by email needs the
   * one-time code, so nobody can claim an address they do not read.
   */
  async startSession(input: { publishableKey: string; email?: string; client: string }): Promise<SignedIn> {
    const app = await this.appFor(input.publishableKey);
    // A guest exists to buy: none on a server that does not sell.
    this.deps.checkout.assertCanSell();
    await this.take(
      this.deps.limiters.session,
      `${app.id}:${input.client}`,
      'Too many new sessions from this address',
    );
    const email = input.email ? normalizeEmail(input.email) : null;
    const created = await this.deps.customers.create({
      appId: app.id,
      externalId: `${ANONYMOUS_PREFIX}${randomToken(16)}`,
      email,
      signupBonus: 'earned',
    });
    const userKey = created.userKey ?? (await this.deps.customers.createUserKey(created.customer)).userKey;
    return { user_key: userKey, balance: await this.balanceOf(created.customer.id), email: null };
  }

  async startLogin(input: { publishableKey: string; email: string; client: string }) {
    const app = await this.appFor(input.publishableKey);
    if (this.deps.sender.delivery === 'disabled') {
      throw new TollgateError(
        'unavailable',
        'Email sign-in is not configured on this server (set SMTP_URL)',
        {
          reason: WidgetErrorReasons.emailLoginDisabled,
        },
      );
    }
    const email = normalizeEmail(input.email);
    await this.take(
      this.deps.limiters.loginStartPerClient,
      `${app.id}:${input.client}`,
      'Too many sign-in codes requested',
    );
    await this.take(
      this.deps.limiters.loginStartPerEmail,
      `${app.id}:${email}`,
      'A code was sent recently; check your inbox or try again later',
    );
    const issued = await this.codes.issue(app.id, email);
    try {
      await this.deps.sender.send({
        to: email,
        code: issued.code,
        appName: app.name,
        ttlMinutes: LOGIN_CODE_TTL_SECONDS / 60,
      });
    } catch (error) {
      await this.codes.discard(issued.id);
      this.deps.log('sending a sign-in code failed', error);
      throw new TollgateError('upstream_error', 'The sign-in email could not be sent. Try again later.', {
        reason: WidgetErrorReasons.emailNotSent,
      });
    }
    // The same answer whether or not the address has an account: codes do not reveal who is a customer.
    return {
      sent: true,
      email,
      expires_at: issued.expiresAt.toISOString(),
      expires_in_seconds: LOGIN_CODE_TTL_SECONDS,
      delivery: this.deps.sender.delivery === 'test' ? 'test_mode' : 'email',
      ...(this.deps.sender.delivery === 'test' ? { test_mode_code: issued.code } : {}),
    };
  }

  /**
   * Signs in with a code: the app's customer for this email gets a new user key. Without one, the
   * visitor's current anonymous customer (when its key is presented) becomes the email's customer,
   * keeping what it bought; otherwise a new email customer is opened.
   */
  async verifyLogin(input: {
    publishableKey: string;
    email: string;
    code: string;
    userKey?: string;
    client: string;
  }): Promise<SignedIn> {
    const app = await this.appFor(input.publishableKey);
    await this.take(this.deps.limiters.loginVerify, `${app.id}:${input.client}`, 'Too many sign-in attempts');
    const email = normalizeEmail(input.email);
    const guest = input.userKey ? await this.guestFor(app.id, input.userKey) : null;
    // Refused before the code is spent, so the visitor can retry with the same code once it can merge.
    if (guest && (await this.emailCustomer(app.id, email)))
      await this.deps.merges.assertMergeable(guest.customerId);
    const { verdict, attemptsLeft } = await this.codes.verify(app.id, email, input.code);
    if (verdict === 'missing' || verdict === 'expired') {
      throw new TollgateError('invalid_request', 'This code has expired. Ask for a new one.', {
        reason: WidgetErrorReasons.codeExpired,
      });
    }
    if (verdict === 'too_many_attempts' || (verdict === 'mismatch' && attemptsLeft === 0)) {
      throw new TollgateError('rate_limited', 'Too many wrong codes. Ask for a new one.', {
        reason: WidgetErrorReasons.tooManyAttempts,
      });
    }
    if (verdict === 'mismatch') {
      throw new TollgateError('invalid_request', 'That code is not right.', {
        reason: WidgetErrorReasons.invalidCode,
        attempts_left: attemptsLeft,
      });
    }
    const account = await this.emailCustomer(app.id, email);
    if (account) return this.signInMerging(app.id, account, email, guest);
    const claimed = guest ? await this.claimAnonymous(app.id, guest.customerId, email) : null;
    if (claimed) {
      await this.earnBonus(app.id, claimed.id, email);
      return { user_key: input.userKey!, balance: await this.balanceOf(claimed.id), email };
    }
    const created = await this.deps.customers.create({
      appId: app.id,
      externalId: `${EMAIL_PREFIX}${email}`,
      email,
      signupBonus: 'earned',
    });
    // Created meanwhile by a concurrent sign-in (or claimed): that account it is.
    if (!created.created) return this.signInMerging(app.id, created.customer, email, guest);
    await this.earnBonus(app.id, created.customer.id, email);
    return { user_key: created.userKey!, balance: await this.balanceOf(created.customer.id), email };
  }

  /** Signs in to an existing account, first moving a presented guest's credits into it. */
  private async signInMerging(
    appId: string,
    account: CustomerRecord,
    email: string,
    guest: { customerId: string } | null,
  ): Promise<SignedIn> {
    let merged: MergeOutcome | null = null;
    if (guest && guest.customerId !== account.id) {
      merged = await this.deps.merges.merge({ appId, guestId: guest.customerId, accountId: account.id });
      this.deps.customers.forgetKeys(merged.revokedKeyHashes);
    }
    await this.earnBonus(appId, account.id, email);
    const signedIn = await this.signIn(account, email);
    if (!merged) return signedIn;
    return {
      ...signedIn,
      merged: {
        credits: microsToCredits(merged.movedMicros),
        forfeited_bonus: microsToCredits(merged.forfeitedMicros),
      },
    };
  }

  /** A verified email earns the signup bonus once (per app and address, within the daily cap). */
  private async earnBonus(appId: string, customerId: string, email: string): Promise<void> {
    await this.deps.signupBonus.grantEarned({ appId, customerId, identity: `${EMAIL_PREFIX}${email}` });
  }

  /** The signed-in visitor's balance and email (null for an anonymous customer). */
  async me(customerId: string) {
    const customer = await this.deps.customers.get(customerId);
    return {
      balance: await this.balanceOf(customerId),
      currency: 'credits',
      email: customer.externalId?.startsWith(EMAIL_PREFIX) ? customer.email : null,
    };
  }

  private async signIn(customer: CustomerRecord, email: string): Promise<SignedIn> {
    const { userKey } = await this.deps.customers.createUserKey(customer);
    return { user_key: userKey, balance: await this.balanceOf(customer.id), email };
  }

  private async emailCustomer(appId: string, email: string): Promise<CustomerRecord | null> {
    const rows = await this.deps.db.query<{ id: string }>(
      'select id from customers where app_id = $1 and external_id = $2',
      [appId, `${EMAIL_PREFIX}${email}`],
    );
    return rows[0] ? this.deps.customers.get(rows[0].id) : null;
  }

  /** The anonymous customer a presented user key belongs to, if it is one of this app's guests. */
  private async guestFor(appId: string, userKey: string): Promise<{ customerId: string } | null> {
    const principal = await this.deps.keys.resolve(userKey);
    if (principal?.kind !== 'user' || principal.appId !== appId) return null;
    const customer = await this.deps.customers.get(principal.customerId);
    return customer.externalId?.startsWith(ANONYMOUS_PREFIX) ? { customerId: customer.id } : null;
  }

  /** Turns the guest into the email's customer; null when it no longer qualifies. */
  private async claimAnonymous(
    appId: string,
    guestId: string,
    email: string,
  ): Promise<{ id: string } | null> {
    // The email's external id is claimed in the same transaction (store/migrations/0016): if the email
    // customer appeared meanwhile, the claim finds it taken and the caller signs in to that one instead.
    return this.deps.db.transaction(async (query) => {
      const [guest] = await query<{ external_id: string }>(
        `select external_id from customers where id = $1 and app_id = $2 and external_id like 'widget:%' for update`,
        [guestId, appId],
      );
      if (!guest) return null;
      const claimed = await query(
        `insert into customer_external_ids (app_key, external_id, customer_id) values ($1, $2, $3)
         on conflict do nothing returning customer_id`,
        [appId, `${EMAIL_PREFIX}${email}`, guestId],
      );
      if (claimed.length === 0) return null;
      await query(
        'delete from customer_external_ids where app_key = $1 and external_id = $2 and customer_id = $3',
        [appId, guest.external_id, guestId],
      );
      await query('update customers set external_id = $2, email = $3 where id = $1', [
        guestId,
        `${EMAIL_PREFIX}${email}`,
        email,
      ]);
      return { id: guestId };
    });
  }

  private async balanceOf(customerId: string): Promise<number> {
    const balance = await this.deps.ledger.balance(customerId);
    return balance ? microsToCredits(balance.balanceMicros) : 0;
  }

  private async take(limiter: RateLimiter, key: string, message: string): Promise<void> {
    const decision = await limiter.take(key);
    if (!decision.allowed) {
      throw new TollgateError('rate_limited', message, { retry_after_seconds: decision.retryAfterSeconds });
    }
  }
}
