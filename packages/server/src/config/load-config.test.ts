import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TollgateError } from '../shared/errors.ts';
import { UNCONFIGURED_BASE_URL } from './config-schema.ts';
import { DEFAULT_RAW_CONFIG } from './default-config.ts';
import { loadConfig, parseConfig, parseConfigSource } from './load-config.ts';

const directory = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

function expectInvalid(run: () => unknown, messageStart: string): TollgateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    const tollgateError = error as TollgateError;
    expect(tollgateError.code).toBe('invalid_request');
    expect(tollgateError.message.startsWith(messageStart), tollgateError.message).toBe(true);
    return tollgateError;
  }
  throw new Error('expected an invalid_request error');
}

const CONTRACT_EXAMPLE = `
credits: { usd_per_credit: 0.01 }          # what a buyer pays for one credit
signup_bonus: 500                           # credits for each new customer, once
purchases:
  minimum_usd: 5
  bonus: [{ from_usd: 50, percent: 10 }]
  packs: [{ code: pack_100, credits: 100, price_usd: 1 }]
plans: [{ code: pro, name: Pro, price_usd: 25, interval: month, allowance: 2500 }]
holds: { timeout_seconds: 900 }
rate_limits: { requests_per_minute: 600 }   # per user key
default_price: { per_call: 5 }              # unknown models
providers:
  openai:    { base_url: "http://127.0.0.1:4010/v1", api_key_env: OPENAI_API_KEY, format: openai }
  anthropic: { base_url: "http://127.0.0.1:4011",    api_key_env: ANTHROPIC_API_KEY, format: anthropic }
  fal:       { base_url: "http://127.0.0.1:4012",    api_key_env: FAL_KEY, format: fal }
models:
  - { id: fal-ai/flux/schnell, type: image, provider: fal, price: { per_call: 0.3 } }
  - { id: fal-ai/veo3.1, type: video, provider: fal, price: { per_unit: 10, unit: second } }
  - { id: openai/gpt-4o, type: language, provider: openai, upstream_model: gpt-4o,
      max_tokens: 16384, price: { input_per_million: 250, output_per_million: 1000, cached_input_per_million: 125 } }
`;

describe('loadConfig without a path', () => {
  const config = loadConfig(undefined, {});

  it('returns the built-in default with every amount exact', () => {
    expect(config.sourcePath).toBeNull();
    expect(config.credits).toEqual({ priceUsd: '0.01', priceMicroUsd: 10_000n });
    expect(config.signupBonusMicros).toBe(500_000_000n);
    // Earned (widget) bonuses per app and day: 50,000 credits; test mode decided by address.
    expect(config.signupBonusDailyCapMicros).toBe(50_000_000_000n);
    expect(config.testMode).toBeNull();
    expect(config.purchases.minimumCents).toBe(500n);
    expect(config.purchases.bonusTiers).toEqual([{ fromCents: 5_000n, ratePpm: 100_000n }]);
    expect(config.purchases.packs[0]).toEqual({
      code: 'pack_100',
      name: '100 credits',
      creditsMicros: 100_000_000n,
      priceCents: 100n,
      features: {},
    });
    expect(config.holds.timeoutSeconds).toBe(900);
    expect(config.rateLimits.requestsPerMinute).toBe(600);
    expect(config.defaultPrice.perCallMicros).toBe(5_000_000n);
    expect(config.defaultProvider).toBe('fal');
  });

  it("has seed 003's plans plus pro, allowance = price / usd_per_credit", () => {
    expect(
      config.plans.map((plan) => [plan.code, plan.priceCents, plan.allowanceMicros, plan.interval]),
    ).toEqual([
      ['microbudget', 1_000n, 1_000_000_000n, 'month'],
      ['independent', 2_500n, 2_500_000_000n, 'month'],
      ['pro', 2_500n, 2_500_000_000n, 'month'],
      ['hollywood', 5_000n, 5_000_000_000n, 'month'],
    ]);
  });

  it('leaves providers unconfigured unless the environment names their base URL', () => {
    for (const name of ['openai', 'anthropic', 'fal', 'openrouter', 'gmi']) {
      expect(config.providers[name]).toMatchObject({ baseUrl: UNCONFIGURED_BASE_URL, configured: false });
    }
    expect(config.providers.fal.apiKeyEnv).toBe('FAL_KEY');
    expect(config.providers.openrouter.format).toBe('openai');
    const fromEnv = loadConfig(undefined, { OPENAI_BASE_URL: 'http://localhost:9000/v1/' });
    expect(fromEnv.providers.openai).toEqual({
      name: 'openai',
      baseUrl: 'http://localhost:9000/v1',
      apiKeyEnv: 'OPENAI_API_KEY',
      apiKeyEnvs: ['OPENAI_API_KEY'],
      format: 'openai',
      configured: true,
    });
    expect(config.providers.google.apiKeyEnvs).toEqual(['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
  });

  it('builds in no provider hostname', () => {
    expect(JSON.stringify(DEFAULT_RAW_CONFIG)).not.toMatch(/https?:/);
  });

  it('reads an empty path as no path', () => {
    expect(loadConfig('', {}).models.length).toBe(config.models.length);
  });
});

describe('loadConfig from a file', () => {
  it("reads the contract's YAML example; its models replace the default catalog", () => {
    const path = writeConfig('tollgate.yaml', CONTRACT_EXAMPLE);
    const config = loadConfig(path, {});
    expect(config.sourcePath).toBe(path);
    expect(config.models.map((model) => model.id)).toEqual([
      'fal-ai/flux/schnell',
      'fal-ai/veo3.1',
      'openai/gpt-4o',
    ]);
    const [schnell, veo, gpt4o] = config.models;
    expect(schnell.price.perCallMicros).toBe(300_000n);
    expect(schnell.name).toBe('fal-ai/flux/schnell');
    expect(veo.price).toMatchObject({ perUnitMicros: 10_000_000n, unit: 'second', perCallMicros: null });
    // The file names no work inputs: the built-in model's (which field is the duration) carry over.
    expect(veo.workInputs).toEqual([
      {
        field: 'duration',
        role: 'units',
        measure: 'seconds',
        defaultValue: '8s',
        minMicroUnits: 4_000_000n,
        maxMicroUnits: 8_000_000n,
      },
    ]);
    expect(schnell.workInputs.map((work) => [work.field, work.role])).toEqual([['num_images', 'outputs']]);
    expect(gpt4o.workInputs).toEqual([]);
    expect(gpt4o).toMatchObject({ upstreamModel: 'gpt-4o', maxTokens: 16_384, contextWindow: null });
    expect(gpt4o.price).toMatchObject({
      inputPerMillionMicros: 250_000_000n,
      outputPerMillionMicros: 1_000_000_000n,
      cachedInputPerMillionMicros: 125_000_000n,
    });
    expect(config.plans).toEqual([
      {
        code: 'pro',
        name: 'Pro',
        priceCents: 2_500n,
        interval: 'month',
        allowanceMicros: 2_500_000_000n,
        rolloverMaxMicros: 0n,
        features: {},
      },
    ]);
    expect(config.providers.openai).toMatchObject({ baseUrl: 'http://127.0.0.1:4010/v1', configured: true });
    // Providers the file does not name keep their defaults.
    expect(config.providers.openrouter.configured).toBe(false);
  });

  it('reads a plan rollover cap in credits, exactly, and refuses a negative one', () => {
    const rolling = CONTRACT_EXAMPLE.replace(
      'allowance: 2500 }',
      'allowance: 2500, rollover: { max: 300.5 } }',
    );
    expect(loadConfig(writeConfig('rollover.yaml', rolling), {}).plans[0]!.rolloverMaxMicros).toBe(
      300_500_000n,
    );
    const negative = CONTRACT_EXAMPLE.replace(
      'allowance: 2500 }',
      'allowance: 2500, rollover: { max: -1 } }',
    );
    expect(() => loadConfig(writeConfig('rollover-negative.yaml', negative), {})).toThrow();
  });

  it('prefers a base URL written in the file over the environment', () => {
    const path = writeConfig('override.yaml', CONTRACT_EXAMPLE);
    const config = loadConfig(path, { OPENAI_BASE_URL: 'http://elsewhere.test' });
    expect(config.providers.openai.baseUrl).toBe('http://127.0.0.1:4010/v1');
  });

  it('reads JSON by extension and by content, keeping decimals exact', () => {
    const json = JSON.stringify({ signup_bonus: 0.1, credits: { usd_per_credit: '0.001' } }).replace(
      '0.1',
      '1234567890.123456',
    );
    const byExtension = loadConfig(writeConfig('tollgate.json', json), {});
    expect(byExtension.signupBonusMicros).toBe(1_234_567_890_123_456n);
    expect(byExtension.credits).toEqual({ priceUsd: '0.001', priceMicroUsd: 1_000n });
    // Plan allowances follow the price of a credit: $10 at $0.001 → 10,000 credits.
    expect(byExtension.plans[0].allowanceMicros).toBe(10_000_000_000n);
    const byContent = loadConfig(writeConfig('tollgate-config', json), {});
    expect(byContent.signupBonusMicros).toBe(1_234_567_890_123_456n);
  });

  it('keeps YAML integers too large for a float exact', () => {
    // 2^53 + 1 dollars: a float would read 9007199254740992.
    const config = parseConfigSource('purchases: { minimum_usd: 9007199254740993 }', { env: {} });
    expect(config.purchases.minimumCents).toBe(900_719_925_474_099_300n);
  });

  it('merges object sections key by key and keeps defaults for missing sections', () => {
    const config = parseConfigSource('purchases: { minimum_usd: 10 }\nholds:\n', {
      env: {},
    });
    expect(config.purchases.minimumCents).toBe(1_000n);
    expect(config.purchases.packs.length).toBeGreaterThan(1);
    expect(config.holds.timeoutSeconds).toBe(900);
    expect(config.models.length).toBeGreaterThan(70);
  });

  it('refuses unknown keys, every one at once with its path and the key it probably meant', () => {
    const text = [
      'singup_bonus: 100',
      'holds: { timeout_secs: 10 }',
      'models:',
      '  - { id: my/model, type: language, provider: openai, upstream_modle: x, price: { per_call: 1 } }',
      'providers: { openai: { format: openai, base_ulr: "http://127.0.0.1:1" } }',
      'something_else: 1',
    ].join('\n');
    const error = expectInvalid(() => parseConfigSource(text, { env: {} }), 'the config has 5 problems:');
    expect(error.message.split('\n').slice(1).sort()).toEqual([
      '  holds.timeout_secs: unknown key (did you mean "timeout_seconds"?)',
      '  models[0].upstream_modle (model my/model): unknown key (did you mean "upstream_model"?)',
      '  providers.openai.base_ulr: unknown key (did you mean "base_url"?)',
      '  singup_bonus: unknown key (did you mean "signup_bonus"?)',
      '  something_else: unknown key',
    ]);
    expect((error.details as { issues: unknown[] }).issues).toHaveLength(5);
  });

  it('adds file models to the default catalog with include_default_models', () => {
    const config = parseConfigSource(
      [
        'include_default_models: true',
        'models:',
        '  - { id: fal-ai/flux/schnell, type: image, provider: fal, price: { per_call: 1 } }',
        '  - { id: my/new-model, type: video, provider: fal, price: { per_unit: 0.25, unit: second },',
        '      work_inputs: { seconds: { role: units, measure: seconds, default: 5, max: 20 } } }',
      ].join('\n'),
      { env: {} },
    );
    const defaults = loadConfig(undefined, {});
    expect(config.models.length).toBe(defaults.models.length + 1);
    expect(config.models.find((model) => model.id === 'fal-ai/flux/schnell')?.price.perCallMicros).toBe(
      1_000_000n,
    );
    expect(config.models.find((model) => model.id === 'my/new-model')?.price.perUnitMicros).toBe(250_000n);
    expect(config.models.find((model) => model.id === 'my/new-model')?.workInputs).toEqual([
      {
        field: 'seconds',
        role: 'units',
        measure: 'seconds',
        defaultValue: 5,
        minMicroUnits: null,
        maxMicroUnits: 20_000_000n,
      },
    ]);
  });

  it('turns an inherited units input into a limit when the file prices the model per call', () => {
    const config = parseConfigSource(
      'models: [{ id: fal-ai/veo3.1, type: video, provider: fal, price: { per_call: 40 } }]',
      { env: {} },
    );
    expect(config.models[0].workInputs).toEqual([
      expect.objectContaining({ field: 'duration', role: 'limit', maxMicroUnits: 8_000_000n }),
    ]);
  });

  it('answers a missing file with invalid_request', () => {
    expectInvalid(
      () => loadConfig(join(directory, 'absent.yaml'), {}),
      `config file ${join(directory, 'absent.yaml')}`,
    );
  });

  it('answers malformed YAML and JSON with invalid_request', () => {
    expectInvalid(
      () => loadConfig(writeConfig('bad.yaml', 'credits: [\n'), {}),
      `${join(directory, 'bad.yaml')}: invalid YAML`,
    );
    expectInvalid(
      () => loadConfig(writeConfig('bad.json', '{"a": 1,}'), {}),
      `${join(directory, 'bad.json')}: invalid JSON`,
    );
    expectInvalid(() => parseConfigSource('- 1\n- 2\n', { env: {} }), 'config: must be a mapping');
  });
});

describe('invalid values name the field', () => {
  const model = (price: string) => `models: [{ id: m/one, type: image, provider: fal, price: ${price} }]`;
  const work = (inputs: string) =>
    `models: [{ id: m/one, type: image, provider: fal, price: { per_call: 1 }, work_inputs: ${inputs} }]`;
  const cases: [string, string, string][] = [
    [
      'zero usd_per_credit',
      'credits: { usd_per_credit: 0 }',
      'credits.usd_per_credit: must be greater than zero',
    ],
    [
      'sub-micro-dollar credit price',
      'credits: { usd_per_credit: 0.0000001 }',
      'credits.usd_per_credit: has more than 6 decimals',
    ],
    ['negative signup bonus', 'signup_bonus: -1', 'signup_bonus: must not be negative'],
    ['signup bonus as text', 'signup_bonus: lots', 'signup_bonus: must be a plain decimal number'],
    ['an amount with an exponent', 'signup_bonus: 5e2', 'signup_bonus: must be a plain decimal number'],
    ['an amount without a leading digit', 'signup_bonus: .5', 'signup_bonus: must be a plain decimal number'],
    [
      'fractional daily cap',
      'signup_bonus_daily_cap: 2.5',
      'signup_bonus_daily_cap: must be a whole number of credits',
    ],
    ['negative daily cap', 'signup_bonus_daily_cap: -1', 'signup_bonus_daily_cap: must not be negative'],
    ['test_mode as text', 'test_mode: sometimes', 'test_mode: '],
    [
      '7 decimals of credits',
      model('{ per_call: 0.1234567 }'),
      'models[0].price.per_call (model m/one): has more than 6 decimals',
    ],
    [
      'per_unit without unit',
      model('{ per_unit: 1 }'),
      'models[0].price.unit (model m/one): is required with per_unit',
    ],
    [
      'unit without per_unit',
      model('{ per_call: 1, unit: second }'),
      'models[0].price.unit (model m/one): is only allowed',
    ],
    ['empty price', model('{}'), 'models[0].price (model m/one): needs at least one of'],
    [
      'misspelt price kind',
      model('{ per_cal: 1 }'),
      'the config has 2 problems:\n  models[0].price.per_cal (model m/one): unknown key (did you mean "per_call"?)',
    ],
    [
      'unknown model type',
      'models: [{ id: x, type: hologram, provider: fal, price: { per_call: 1 } }]',
      'models[0].type (model x): Invalid option',
    ],
    [
      'unknown provider',
      'models: [{ id: x, type: image, provider: nope, price: { per_call: 1 } }]',
      'models[0].provider (model x): names no configured provider',
    ],
    [
      'duplicate model id',
      'models: [{ id: x, type: image, provider: fal, price: { per_call: 1 } }, { id: x, type: image, provider: fal, price: { per_call: 2 } }]',
      'models[1].id (model x): duplicates "x"',
    ],
    [
      'two defaults for one purpose',
      'models: [{ id: x, type: image, provider: fal, default_for: image, price: { per_call: 1 } }, { id: y, type: image, provider: fal, default_for: [image], price: { per_call: 2 } }]',
      'models[1].default_for (model y): "image" is already the default of x',
    ],
    [
      'fractional timeout',
      'holds: { timeout_seconds: 1.5 }',
      'holds.timeout_seconds: must be a positive whole number',
    ],
    [
      'zero rate limit',
      'rate_limits: { requests_per_minute: 0 }',
      'rate_limits.requests_per_minute: must be a positive whole number',
    ],
    [
      'cents of a cent',
      'purchases: { minimum_usd: 5.001 }',
      'purchases.minimum_usd: has more than 2 decimals',
    ],
    [
      'free pack',
      'purchases: { packs: [{ code: p, credits: 10, price_usd: 0 }] }',
      'purchases.packs[0].price_usd: must be greater than zero',
    ],
    [
      'duplicate pack code',
      'purchases: { packs: [{ code: p, credits: 10, price_usd: 1 }, { code: p, credits: 20, price_usd: 2 }] }',
      'purchases.packs[1].code: duplicates "p"',
    ],
    [
      'plan interval',
      'plans: [{ code: p, price_usd: 5, interval: fortnight }]',
      'plans[0].interval: Invalid input',
    ],
    [
      'duplicate plan',
      'plans: [{ code: p, price_usd: 5 }, { code: p, price_usd: 6 }]',
      'plans[1].code: duplicates "p"',
    ],
    [
      'huge bonus',
      'purchases: { bonus: [{ from_usd: 50, percent: 5000 }] }',
      'purchases.bonus[0].percent: must be between 0 and 1000',
    ],
    ['bad provider format', 'providers: { mine: { format: grpc } }', 'providers.mine.format: Invalid option'],
    [
      'bad provider URL',
      'providers: { openai: { base_url: "ftp://x" } }',
      'providers.openai.base_url: must be an http(s) URL',
    ],
    [
      'default provider missing',
      'default_provider: nowhere',
      'default_provider: names no configured provider',
    ],
    [
      'a per-unit media model without the input that carries its units',
      'models: [{ id: my/clip, type: video, provider: fal, price: { per_unit: 1, unit: second } }]',
      'models[0].work_inputs (model my/clip): needs an input with role units',
    ],
    [
      'units input on a per-call model',
      work('{ seconds: { role: units, measure: seconds, default: 5 } }'),
      'models[0].work_inputs.seconds.role (model m/one): units needs a per_unit price',
    ],
    [
      'work input without a measure',
      work('{ duration: { role: limit, max: 5 } }'),
      'models[0].work_inputs.duration.measure (model m/one): is required',
    ],
    [
      'outputs measured in seconds',
      work('{ num_images: { role: outputs, measure: seconds, default: 1 } }'),
      'models[0].work_inputs.num_images.measure (model m/one): must be count',
    ],
    [
      'outputs without a default',
      work('{ num_images: { role: outputs, max: 4 } }'),
      'models[0].work_inputs.num_images.default (model m/one): is required for role outputs',
    ],
    [
      'limit without a max',
      work('{ duration: { role: limit, measure: seconds } }'),
      'models[0].work_inputs.duration.max (model m/one): is required for role limit',
    ],
    [
      'default out of bounds',
      work('{ num_images: { role: outputs, default: 5, max: 4 } }'),
      'models[0].work_inputs.num_images.default (model m/one): must lie within min and max',
    ],
    [
      'unreadable default',
      work('{ duration: { role: limit, measure: seconds, default: "eight", max: 8 } }'),
      'models[0].work_inputs.duration.default (model m/one): must be a number of seconds',
    ],
    [
      'fractional count bound',
      work('{ num_images: { role: outputs, default: 1, max: 2.5 } }'),
      'models[0].work_inputs.num_images.max (model m/one): must be a whole number',
    ],
    [
      'zero outputs allowed',
      work('{ num_images: { role: outputs, default: 1, min: 0 } }'),
      'models[0].work_inputs.num_images.min (model m/one): must be greater than zero',
    ],
    [
      'min above max',
      work('{ duration: { role: limit, measure: seconds, min: 9, max: 8 } }'),
      'models[0].work_inputs.duration.min (model m/one): must not be above max',
    ],
    [
      'misspelt work input key',
      work('{ duration: { role: limit, measure: seconds, maximum: 8 } }'),
      'the config has 2 problems:\n  models[0].work_inputs.duration.maximum (model m/one): unknown key (did you mean "max"?)',
    ],
    [
      'include_default_models not boolean',
      'include_default_models: yes please',
      'include_default_models: must be true or false',
    ],
  ];

  it.each(cases)('%s', (_label, text, messageStart) => {
    expectInvalid(() => parseConfigSource(text, { env: {} }), messageStart);
  });

  it('reports a bad base URL coming from the environment', () => {
    expectInvalid(
      () => parseConfig({}, { FAL_BASE_URL: 'not a url' }),
      'providers.fal.base_url: must be an http(s) URL (from FAL_BASE_URL)',
    );
  });

  it('lists every issue in details', () => {
    const error = expectInvalid(
      () => parseConfigSource('signup_bonus: -1\nholds: { timeout_seconds: 0 }', { env: {} }),
      'the config has 2 problems:\n  signup_bonus: must not be negative\n  holds.timeout_seconds: must be a positive whole number',
    );
    expect(error.details.issues).toEqual([
      { path: 'signup_bonus', message: 'must not be negative' },
      { path: 'holds.timeout_seconds', message: 'must be a positive whole number' },
    ]);
  });
});

describe('selling safely: signup_bonus_daily_cap and test_mode', () => {
  it('reads the cap as whole credits, exactly, and test_mode as a switch', () => {
    const config = parseConfigSource('signup_bonus_daily_cap: 1500\ntest_mode: true', { env: {} });
    expect(config.signupBonusDailyCapMicros).toBe(1_500_000_000n);
    expect(config.testMode).toBe(true);
    expect(parseConfigSource('signup_bonus_daily_cap: "0"\ntest_mode: false', { env: {} })).toMatchObject({
      signupBonusDailyCapMicros: 0n,
      testMode: false,
    });
  });
});

describe('entitlements: features of plans and packs', () => {
  it("reads seed 003's tiers with switches, limits and monthly allowances", () => {
    const config = loadConfig(
      join(import.meta.dirname, '../../../../examples/plans-with-features/tollgate.yaml'),
      {},
    );
    expect(config.plans.map((plan) => plan.code)).toEqual(['microbudget', 'independent', 'hollywood']);
    expect(config.plans[1]!.features).toEqual({
      '4k_export': { kind: 'boolean', enabled: true },
      max_projects: { kind: 'limit', limit: 10 },
      video_exports: { kind: 'metered', monthlyAllowance: 100 },
    });
    expect(config.purchases.packs[1]!.features.max_projects).toEqual({ kind: 'limit', limit: 20 });
  });

  it('refuses a feature of two kinds, a metered pack, fractions and bad names', () => {
    const plans = (features: string) =>
      `plans:\n  - { code: a, price_usd: 1, features: { x: true } }\n  - { code: b, price_usd: 2, features: ${features} }`;
    expectInvalid(
      () => parseConfigSource(plans('{ x: 3 }'), { env: {} }),
      'plans[1].features.x: "x" is a boolean feature elsewhere',
    );
    expectInvalid(
      () =>
        parseConfigSource(
          'purchases:\n  packs: [{ code: p, credits: 1, price_usd: 1, features: { y: { monthly: 5 } } }]',
          {
            env: {},
          },
        ),
      'purchases.packs[0].features.y: a pack is bought once',
    );
    expectInvalid(() => parseConfigSource(plans('{ z: 1.5 }'), { env: {} }), 'plans[1].features.z');
    expectInvalid(() => parseConfigSource(plans('{ "Bad Name": true }'), { env: {} }), 'plans[1].features');
  });
});
