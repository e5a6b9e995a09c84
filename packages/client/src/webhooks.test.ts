import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constructEvent, verifyWebhook, WebhookSignatureError } from './webhooks.ts';

const SECRET = 'whsec_test_secret';
const BODY = JSON.stringify({
  id: 'evt_1',
  object: 'event',
  type: 'balance.low',
  created: 1000,
  app: 'app_1',
  data: {},
});
const sign = (secret: string, timestamp: number, body = BODY) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

describe('verifyWebhook', () => {
  it('accepts a signature over the raw body within the tolerance, among several v1', async () => {
    const header = `t=1000,v1=${sign('whsec_old', 1000)},v1=${sign(SECRET, 1000)}`;
    const event = await verifyWebhook(BODY, header, SECRET, { nowSeconds: 1100 });
    expect(event.id).toBe('evt_1');
    expect(constructEvent).toBe(verifyWebhook);
  });

  it('refuses another secret, another body, an old timestamp and malformed headers', async () => {
    const header = `t=1000,v1=${sign(SECRET, 1000)}`;
    await expect(verifyWebhook(BODY, header, 'whsec_other', { nowSeconds: 1000 })).rejects.toBeInstanceOf(
      WebhookSignatureError,
    );
    await expect(verifyWebhook(`${BODY} `, header, SECRET, { nowSeconds: 1000 })).rejects.toThrow(
      /No signature/,
    );
    await expect(verifyWebhook(BODY, header, SECRET, { nowSeconds: 1301 })).rejects.toThrow(/timestamp/);
    await expect(
      verifyWebhook(BODY, header, SECRET, { nowSeconds: 1301, toleranceSeconds: 0 }),
    ).resolves.toBeTruthy();
    for (const bad of [undefined, '', 'v1=abc', 't=1000', `t=x,v1=${sign(SECRET, 1000)}`]) {
      await expect(verifyWebhook(BODY, bad, SECRET, { nowSeconds: 1000 })).rejects.toBeInstanceOf(
        WebhookSignatureError,
      );
    }
  });
});
