/**
 * The built-in configuration, written in the file format so it passes through the same validation
 * as an operator's file. A file's sections are merged over these (see `merge-config.ts`).
 */
import type { RawConfig } from './config-schema.ts';
import { DEFAULT_MODELS } from './default-catalog.ts';

export const DEFAULT_RAW_CONFIG = {
  credits: { usd_per_credit: '0.01' },
  // Seed 001's "$5.00 in free credits" at $0.01 per credit.
  signup_bonus: '500',
  // Earned widget bonuses per app and day: a hundred signups at the default bonus.
  signup_bonus_daily_cap: '50000',
  purchases: {
    minimum_usd: '5',
    bonus: [{ from_usd: '50', percent: '10' }],
    // Packs are fixed bundles, bought by code; the minimum and bonus tiers govern custom amounts.
    packs: [
      { code: 'pack_100', name: '100 credits', credits: '100', price_usd: '1' },
      { code: 'pack_500', name: '500 credits', credits: '500', price_usd: '5' },
      { code: 'pack_2500', name: '2,500 credits', credits: '2500', price_usd: '25' },
      // The $50 bonus tier (10%) built in, so the pack is never worse than a custom amount.
      { code: 'pack_5500', name: '5,500 credits', credits: '5500', price_usd: '50' },
    ],
  },
  // Seed 003's tiers, plus `pro`, the plan code seed 002 and the contract use as their example.
  // Allowances default to what the price buys at `usd_per_credit` (10 → 1,000 credits at $0.01).
  plans: [
    { code: 'microbudget', name: 'Microbudget', price_usd: '10', interval: 'month' },
    { code: 'independent', name: 'Independent', price_usd: '25', interval: 'month' },
    { code: 'pro', name: 'Pro', price_usd: '25', interval: 'month' },
    { code: 'hollywood', name: 'Hollywood', price_usd: '50', interval: 'month' },
  ],
  holds: { timeout_seconds: 900 },
  rate_limits: { requests_per_minute: 600 },
  // Seed 001: "Unknown models $0.05 (default)".
  default_price: { per_call: '5' },
  default_provider: 'fal',
  // No provider hostname is built in: base URLs come from the environment, else stay unconfigured.
  providers: {
    openai: { base_url_env: 'OPENAI_BASE_URL', api_key_env: 'OPENAI_API_KEY', format: 'openai' },
    anthropic: { base_url_env: 'ANTHROPIC_BASE_URL', api_key_env: 'ANTHROPIC_API_KEY', format: 'anthropic' },
    fal: { base_url_env: 'FAL_BASE_URL', api_key_env: 'FAL_KEY', format: 'fal' },
    openrouter: { base_url_env: 'OPENROUTER_BASE_URL', api_key_env: 'OPENROUTER_API_KEY', format: 'openai' },
    gmi: { base_url_env: 'GMI_BASE_URL', api_key_env: 'GMI_API_KEY', format: 'openai' },
    // Gemini through its OpenAI-compatible endpoint (the base URL ends in `/openai`).
    google: {
      base_url_env: 'GEMINI_BASE_URL',
      api_key_env: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
      format: 'openai',
    },
    xai: { base_url_env: 'XAI_BASE_URL', api_key_env: 'XAI_API_KEY', format: 'openai' },
  },
  models: [...DEFAULT_MODELS],
  // Dated ids clients send for catalog models listed under their alias (the provider serves both).
  aliases: {
    'claude-opus-4-5-20251101': 'anthropic/claude-opus-4-5',
    'claude-sonnet-4-5-20250929': 'anthropic/claude-sonnet-4-5',
    'claude-haiku-4-5-20251001': 'anthropic/claude-haiku-4-5',
  },
  // Ids the catalog does not list, by family (first match wins; a file's routes come first). Each is
  // priced at its family's default: the dearest token prices of that provider's catalog models.
  routes: [
    { match: 'claude-*', provider: 'anthropic' },
    { match: 'gpt-*|chatgpt-*|codex-*|o1*|o3*|o4*', provider: 'openai' },
    { match: 'gemini-*', provider: 'google' },
    { match: 'grok-*', provider: 'xai' },
  ],
  // Room for two silent providers at the default TOLLGATE_UPSTREAM_TIMEOUT_MS (120 s) and a third.
  fallbacks: { max_attempts: 3, max_seconds: 300 },
} satisfies RawConfig;
