import { describe, expect, it } from 'vitest';
import { privateTargetsFromEnv } from './config.ts';

describe('privateTargetsFromEnv', () => {
  it('follows the switch, else allows private targets only on a loopback-only server outside production', () => {
    expect(privateTargetsFromEnv({ TOLLGATE_WEBHOOK_PRIVATE_TARGETS: '1' }, ['0.0.0.0'])).toBe(true);
    expect(privateTargetsFromEnv({ TOLLGATE_WEBHOOK_PRIVATE_TARGETS: '0' }, ['127.0.0.1'])).toBe(false);
    expect(privateTargetsFromEnv({}, ['127.0.0.1', '::1'])).toBe(true);
    expect(privateTargetsFromEnv({}, ['0.0.0.0'])).toBe(false);
    expect(privateTargetsFromEnv({}, null)).toBe(false);
    expect(privateTargetsFromEnv({ NODE_ENV: 'production' }, ['127.0.0.1'])).toBe(false);
    expect(() => privateTargetsFromEnv({ TOLLGATE_WEBHOOK_PRIVATE_TARGETS: 'maybe' }, null)).toThrow(
      /TOLLGATE_WEBHOOK_PRIVATE_TARGETS must be 1 or 0/,
    );
  });
});
