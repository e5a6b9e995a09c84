/**
 * `@tollgate/client` — typed client for the Tollgate HTTP API, with no runtime dependencies.
 * See the package README for usage.
 */
export {
  type AmountInput,
  Credits,
  credits,
  formatCredits,
  fromMicros,
  MICROS_PER_CREDIT,
  toMicros,
} from './amounts.ts';
export {
  type AutoTopup,
  type AutoTopupAttempt,
  type AutoTopupParams,
  type AutoTopupSetup,
  AutoTopups,
} from './auto-topup.ts';
export { Tollgate, type TollgateOptions } from './client.ts';
export {
  DIRECTORS_CUT_FALLBACK_CREDITS,
  DIRECTORS_CUT_MODEL_ID,
  defaultModelFor,
  estimateCostMicros,
  findModel,
  type WorkEstimate,
} from './costs.ts';
export {
  AlreadyRedeemedError,
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  type ClientErrorCode,
  ConflictError,
  type ErrorCode,
  ErrorCodes,
  IdempotencyConflictError,
  InsufficientCreditsError,
  InternalServerError,
  InvalidRequestError,
  InvalidStateError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitedError,
  RunLimitExceededError,
  SpendLimitExceededError,
  TollgateError,
  type TollgateErrorInit,
  UpstreamError,
} from './errors.ts';
export type { Member, MemberCreated, MemberCreateParams, Members } from './members.ts';
export type {
  Apps,
  Billing,
  Charges,
  Checkout,
  Customers,
  Entitlements,
  Generations,
  GiftCodes,
  Holds,
  Models,
  ProviderKeys,
  Purchases,
  Subscriptions,
  Usage,
  UserCredits,
} from './resources.ts';
export type { RequestOptions, SleepFunction } from './transport.ts';
export type * from './types.ts';
export type {
  SpendLimit,
  SpendLimitParams,
  SpendLimitPeriod,
  SpendLimits,
  UserKeyCreated,
  UserKeyCreateParams,
  UserKeyInfo,
  UserKeys,
  UserKeyUpdateParams,
} from './user-keys.ts';
export {
  BalanceAlertSettings,
  type BalanceAlerts,
  constructEvent,
  Events,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointCreateParams,
  WebhookEndpoints,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookList,
  WebhookSignatureError,
} from './webhooks.ts';
export type {
  HoldKey,
  HoldRestatement,
  HoldWork,
  WithHoldOptions,
  WithHoldResult,
  WithHoldValue,
} from './with-hold.ts';
