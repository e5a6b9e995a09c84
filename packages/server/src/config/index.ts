export { type RawConfig, type RawModel, UNCONFIGURED_BASE_URL } from './config-schema.ts';
export { creditsMicrosForCents } from './credit-rate.ts';
export { DEFAULT_MODELS } from './default-catalog.ts';
export { DEFAULT_RAW_CONFIG } from './default-config.ts';
export { type Environment, loadConfig, parseConfig, parseConfigSource } from './load-config.ts';
export { type ConfigFormat, detectConfigFormat } from './parse-config-text.ts';
export * from './types.ts';
