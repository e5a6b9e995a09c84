/**
 * Pure computations every metered call runs, in one process, each beside the way it was done before in
 * the same run: validating the ledger's hold and capture inputs (ledger/inputs.ts; before: metadata as a
 * zod record, which copied it key by key) and merging the usage row's metadata (shared/merge-objects.ts;
 * before: spread syntax with several sources, V8's slow path in Node 20). Best of 15 batches of 10,000
 * calls, ns per call.
 *   node --import tsx bench/gateway/per-call-cost.ts
 */
import { z } from 'zod';
import { captureInputSchema, holdInputSchema } from '../../packages/server/src/ledger/inputs.ts';
import { mergeObjects } from '../../packages/server/src/shared/merge-objects.ts';

function nanosecondsPerCall(call: () => unknown): number {
  for (let round = 0; round < 20_000; round += 1) call();
  let best = Number.POSITIVE_INFINITY;
  for (let batch = 0; batch < 15; batch += 1) {
    const started = process.hrtime.bigint();
    for (let round = 0; round < 10_000; round += 1) call();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 10_000);
  }
  return best;
}

// What the gateway passes for a chat call (gateway-service.ts): the hold, and the capture with its usage.
const holdMetadata = {
  endpoint: 'chat.completions',
  stream: false,
  max_output_tokens: 64,
  input_bound_tokens: 120,
};
const hold = {
  customerId: 'cus_01JEXAMPLEEXAMPLEEXAMPLE0',
  amountMicros: 123_456n,
  timeoutSeconds: 600,
  model: 'openai/gpt-4o-mini',
  modelType: 'chat',
  provider: 'openai',
  userKeyId: 'uk_01JEXAMPLEEXAMPLEEXAMPLE0',
  funding: 'credits' as const,
  metadata: holdMetadata,
};
const captureMetadata = {
  endpoint: 'chat.completions',
  stream: false,
  input_tokens: 20,
  output_tokens: 20,
  cached_input_tokens: 0,
  usage_reported: true,
  funding: 'credits',
  provider: 'openai',
  upstream_model: 'gpt-4o-mini',
  attempts: 1,
};
const capture = {
  holdId: 'hold_01JEXAMPLEEXAMPLEEXAMPLE0',
  amountMicros: 12_345n,
  overrun: 'clamp' as const,
  delivered: true,
  referralShareMicros: 1_234n,
  referralAccount: 'ref:app_01JEXAMPLEEXAMPLEEXAMPLE',
  metadata: captureMetadata,
};
// The earlier metadata rule, for the baseline: a record of keys (bounds as today).
const recordMetadata = z.record(z.string().max(100), z.unknown()).optional();
const holdBefore = holdInputSchema.extend({ metadata: recordMetadata });
const captureBefore = captureInputSchema.extend({ metadata: recordMetadata });
const totals = { provider_cost: '11111', referral_share: '1234', total: '12345', shortfall: '0' };

const rows: [string, number, number][] = [
  [
    'validate a hold',
    nanosecondsPerCall(() => holdBefore.parse(hold)),
    nanosecondsPerCall(() => holdInputSchema.parse(hold)),
  ],
  [
    'validate a capture',
    nanosecondsPerCall(() => captureBefore.parse(capture)),
    nanosecondsPerCall(() => captureInputSchema.parse(capture)),
  ],
  [
    'merge usage metadata',
    nanosecondsPerCall(() => ({ ...holdMetadata, ...captureMetadata, ...{}, ...totals })),
    nanosecondsPerCall(() => mergeObjects(holdMetadata, captureMetadata, {}, totals)),
  ],
];
process.stdout.write('| per call | before, ns | now, ns | now ÷ before |\n| --- | ---: | ---: | ---: |\n');
for (const [label, before, now] of rows) {
  process.stdout.write(
    `| ${label} | ${before.toFixed(0)} | ${now.toFixed(0)} | ${(now / before).toFixed(2)} |\n`,
  );
}
