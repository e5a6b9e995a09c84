/** sdk.js goes on every partner page: it stays small (no framework) and this prints what it weighs. */
import { describe, expect, it } from 'vitest';
import { buildWebAssets } from '../../server/src/widget/assets.ts';

const SDK_GZIP_BUDGET_BYTES = 6 * 1024;

describe('browser bundle', () => {
  it(`keeps sdk.js under ${SDK_GZIP_BUDGET_BYTES} bytes gzipped`, async () => {
    const assets = await buildWebAssets();
    for (const asset of Object.values(assets)) {
      console.info(`${asset.name}: ${asset.body.length} bytes, ${asset.gzip.length} bytes gzipped`);
    }
    const sdk = assets['sdk.js'];
    expect(sdk.gzip.length).toBeLessThan(SDK_GZIP_BUDGET_BYTES);
    // The SDK defines window.Tollgate and nothing from a framework sneaks in.
    expect(sdk.body.toString('utf8')).toContain('Tollgate');
    expect(sdk.body.toString('utf8')).not.toMatch(/react|preact|vue/i);
  });
});
