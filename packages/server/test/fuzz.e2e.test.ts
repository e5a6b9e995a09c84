/**
 * Hostile input at every route the OpenAPI document lists: malformed JSON, arrays and strings for
 * bodies, wrong types, huge numbers (1e308, 2^63, "99999999999999999999999"), more than 6 decimals,
 * negatives, unicode, emoji, NUL and lone surrogates, very long strings, missing or garbled headers
 * and keys, junk path parameters (and sometimes real ids). Every generated request carries at least
 * one defect that must make it fail ("poison"), so the answer is always a 4xx with a typed error body
 * — never a 500 — and afterwards no customer's money, hold, key or app has changed.
 *
 * Seeded (fast-check), a few hundred requests per backend.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { testBackends } from './support/databases.ts';
import { expectStatus, moneySnapshot } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const RUNS = Number(process.env.TOLLGATE_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.TOLLGATE_FUZZ_SEED ?? 20260101);

/** Codes of the contract's error table (500s are never acceptable here). */
const ERROR_STATUS: Record<string, number> = {
  invalid_request: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  invalid_user_key: 401,
  insufficient_credits: 402,
  run_limit_exceeded: 402,
  model_not_allowed: 403,
  forbidden: 403,
  model_not_found: 404,
  not_found: 404,
  idempotency_conflict: 409,
  already_redeemed: 409,
  invalid_state: 409,
  rate_limited: 429,
};

type JsonSchema = {
  type?: string;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
};

interface Operation {
  method: string;
  path: string;
  auth: string[] | 'public';
  body?: JsonSchema;
  query: { name: string; required: boolean; schema: JsonSchema }[];
  pathParams: string[];
}

/** A small JSON-Schema check, enough for what zod emits here; unknown keywords pass (so "invalid" is sure). */
function conforms(schema: JsonSchema | undefined, value: unknown): boolean {
  if (!schema) return true;
  if (schema.anyOf) return schema.anyOf.some((branch) => conforms(branch, value));
  if (schema.enum && !schema.enum.includes(value)) return false;
  switch (schema.type) {
    case 'string':
      return (
        typeof value === 'string' &&
        value.length >= (schema.minLength ?? 0) &&
        value.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY)
      );
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (schema.type === 'integer' && !Number.isSafeInteger(value)) return false;
      if (schema.minimum !== undefined && value < schema.minimum) return false;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return false;
      return !(schema.maximum !== undefined && value > schema.maximum);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return (
        Array.isArray(value) &&
        value.length <= (schema.maxItems ?? Number.POSITIVE_INFINITY) &&
        value.every((item) => conforms(schema.items, item))
      );
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const record = value as Record<string, unknown>;
      for (const name of schema.required ?? []) if (!(name in record)) return false;
      for (const [name, item] of Object.entries(record)) {
        if (schema.propertyNames && !conforms(schema.propertyNames, name)) return false;
        const property = schema.properties?.[name];
        if (property) {
          if (!conforms(property, item)) return false;
        } else if (schema.additionalProperties === false) {
          return false;
        } else if (
          typeof schema.additionalProperties === 'object' &&
          !conforms(schema.additionalProperties, item)
        ) {
          return false;
        }
      }
      return true;
    }
    default:
      return true;
  }
}

const isNumberOrString = (schema: JsonSchema) =>
  Boolean(
    schema.anyOf?.some((branch) => branch.type === 'number') &&
      schema.anyOf?.some((branch) => branch.type === 'string'),
  );

const HUGE_AND_ODD_NUMBERS = [
  1e308,
  -1e308,
  2 ** 63,
  -(2 ** 63),
  2 ** 53 + 2,
  0.1234567,
  1e-7,
  5e-324,
  -1,
  -0.000001,
  1.5,
  0,
  42,
];
const ODD_STRINGS = [
  '',
  ' ',
  'abc',
  '99999999999999999999999',
  '9223372036854775808',
  '1e400',
  '-1',
  '0.1234567',
  'NaN',
  'Infinity',
  '0x10',
  '1,5',
  '١٢٣',
  '😀',
  '😀'.repeat(400),
  'ß∂ƒ©˙∆˚¬…æ',
  'nul\u0000byte',
  '\u0000',
  'lone\ud800surrogate',
  '\udfff',
  '\u202egnp.exe',
  '<script>alert(1)</script>',
  "'; drop table customers; --",
  '{"$gt":""}',
  '../../etc/passwd',
  'x'.repeat(5000),
  'ü'.repeat(70_000),
];
const STRUCTURED_JUNK: unknown[] = [
  null,
  true,
  false,
  [],
  [1, 'a', null],
  {},
  { nested: { deep: [1, { x: null }] } },
  [[[[[[[[]]]]]]]],
];

/**
 * Values that the property must refuse: anything its schema rejects and, for credit-like fields
 * (number or decimal string), decimals the server must refuse when it parses them.
 */
function poisonsFor(name: string, schema: JsonSchema): unknown[] {
  const candidates: unknown[] = [
    ...HUGE_AND_ODD_NUMBERS,
    ...ODD_STRINGS,
    ...STRUCTURED_JUNK,
    { ['k'.repeat(101)]: 1 },
    { bogus_tokens: 1 },
    { input_tokens: -5 },
    { input_tokens: 1.5 },
    Array.from({ length: 1001 }, () => 'm'),
  ];
  const rejected = candidates.filter((value) => !conforms(schema, value));
  if (isNumberOrString(schema)) {
    // Valid JSON types, but no credit/rate/usd parser accepts them.
    rejected.push(
      'abc',
      '1e400',
      'NaN',
      'Infinity',
      '0x10',
      '1,5',
      '١٢٣',
      1e308,
      '1e308',
      0.1234567,
      '0.1234567',
      '-0.0000001',
    );
    // Amounts of money (or a rate) beyond what is stored; a huge `quantity` is not refused by itself
    // (a per-call price ignores it), so it is not a sure poison there.
    if (['amount', 'max_run_cost', 'amount_usd', 'referral_rate'].includes(name)) {
      rejected.push(
        2 ** 63,
        -(2 ** 63),
        '9223372036854775808',
        '99999999999999999999',
        '99999999999999999999999',
      );
    }
  }
  return rejected;
}

function queryPoisons(parameter: Operation['query'][number]): (string | undefined)[] {
  const schema = parameter.schema;
  const poisons: (string | undefined)[] = [];
  if (parameter.required) poisons.push(undefined);
  if (schema.type === 'integer' || schema.type === 'number') {
    for (const text of [
      'abc',
      '-1',
      '1.5',
      '1e999',
      '99999999999999999999999',
      String((schema.maximum ?? 1e15) + 1),
      '0x',
      '',
      '😀',
    ]) {
      const number = Number(text);
      const ok =
        text.trim() !== '' &&
        Number.isFinite(number) &&
        (schema.type !== 'integer' || Number.isSafeInteger(number)) &&
        (schema.minimum === undefined || number >= schema.minimum) &&
        (schema.maximum === undefined || number <= schema.maximum);
      // '' coerces to 0: refused only when 0 is out of range.
      const coercedEmpty = text === '' && schema.minimum !== undefined && schema.minimum > 0;
      if (!ok && (text !== '' || coercedEmpty)) poisons.push(text);
    }
  } else if (schema.type === 'string') {
    if (schema.maxLength !== undefined) poisons.push('q'.repeat(schema.maxLength + 1));
    if ((schema.minLength ?? 0) > 0) poisons.push('');
  }
  return poisons;
}

function operationsOf(document: any): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries<any>(document.paths)) {
    // Health, metrics and the document itself take no input: there is nothing hostile to send them.
    if (!path.startsWith('/v1/')) continue;
    for (const [method, operation] of Object.entries<any>(methods)) {
      operations.push({
        method: method.toUpperCase(),
        path,
        auth:
          (operation.security ?? []).length === 0
            ? 'public'
            : operation.security.map((entry: object) => Object.keys(entry)[0]),
        body: operation.requestBody?.content?.['application/json']?.schema,
        query: (operation.parameters ?? [])
          .filter((parameter: any) => parameter.in === 'query')
          .map((parameter: any) => ({
            name: parameter.name,
            required: parameter.required,
            schema: parameter.schema,
          })),
        pathParams: [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!),
      });
    }
  }
  return operations;
}

/** The dialect a route answers errors in (contract, "Errors"). */
function expectTypedError(
  response: { status: number; body: any; headers: Headers },
  path: string,
  context: string,
): void {
  expect(response.status, context).toBeGreaterThanOrEqual(400);
  expect(response.status, context).toBeLessThan(500);
  expect(response.headers.get('content-type') ?? '', context).toMatch(/application\/json/);
  const body = response.body;
  expect(body, context).toBeTypeOf('object');
  if (path.startsWith('/v1/messages')) {
    // Anthropic's shape: its own error type, Tollgate's stable code beside it.
    expect(body.type, context).toBe('error');
    expect(typeof body.error?.type, context).toBe('string');
    expect(ERROR_STATUS[body.error?.code], context).toBe(response.status);
    expect(typeof body.error.message, context).toBe('string');
    return;
  }
  // OpenAI's shape on the gateway (`type` is the code), the native one elsewhere.
  const openAiShape = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings'].includes(path);
  const code = openAiShape ? body.error?.type : body.error?.code;
  expect(ERROR_STATUS[code], context).toBe(response.status);
  expect(typeof body.error.message, context).toBe('string');
  expect(body.error.message.length, context).toBeGreaterThan(0);
  if (code === 'rate_limited') expect(response.headers.get('retry-after'), context).toBeTruthy();
}

interface World {
  appA: { id: string; secret_key: string; publishable_key: string };
  appB: { id: string; secret_key: string; publishable_key: string };
  customer: { id: string; user_key: string };
  other: { id: string; user_key: string };
  revokedUserKey: string;
  userKeyIds: string[];
  holds: { open: string; captured: string; voided: string; otherOpen: string };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  description: string;
}

function requestArbitrary(operations: Operation[], world: World): fc.Arbitrary<FuzzRequest> {
  const junkText = fc.oneof(
    fc.constantFrom(...ODD_STRINGS.filter((text) => text.length < 1000)),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  const junkValue: fc.Arbitrary<unknown> = fc.oneof(
    junkText,
    fc.constantFrom(...HUGE_AND_ODD_NUMBERS, ...STRUCTURED_JUNK),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const headerJunk = fc.oneof(
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      'Bearer tg_sk_',
      'Bearer tg_uk_',
      'bearer  \t x',
      'Token abc',
      '\xff\xfe\xfd',
      `Bearer ${'k'.repeat(5000)}`,
    ),
    fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      maxLength: 60,
    }),
  );
  const pathJunk = fc.oneof(
    fc.constantFrom(
      '%00',
      'zz%00',
      '%ED%A0%80',
      '%',
      '%zz',
      '%2F',
      '..',
      '.',
      'cus_doesnotexist',
      'hold_doesnotexist',
      `zz-${'x'.repeat(250)}`,
      '%F0%9F%98%80',
      'null',
      'undefined',
      '-1',
      '1e308',
    ),
    junkText.map((text) => {
      try {
        return `zz-${encodeURIComponent(text)}`;
      } catch {
        return 'zz-%ED%B0%80';
      }
    }),
  );
  const providerJunk = fc.constantFrom(
    'FAL',
    '%E2%98%83',
    'x'.repeat(60),
    '-fal',
    '_x',
    'fal%00',
    'fal%20key',
    'Open.AI',
  );

  const realKeyFor = (kind: string): Record<string, string> =>
    kind === 'app'
      ? { authorization: `Bearer ${world.appA.secret_key}` }
      : kind === 'user'
        ? { 'x-user-key': world.customer.user_key }
        : { authorization: `Bearer ${ADMIN_KEY}` };

  const realPathValue = (operation: Operation, name: string) => {
    if (name === 'provider') return fc.constantFrom('fal', 'openai');
    if (name === 'key_id') return fc.constantFrom(...world.userKeyIds);
    if (operation.path.startsWith('/v1/holds')) return fc.constantFrom(...Object.values(world.holds));
    if (operation.path.startsWith('/v1/customers'))
      return fc.constantFrom(world.customer.id, 'fuzz-main', world.other.id);
    return fc.constantFrom('cus_doesnotexist', 'cs_doesnotexist');
  };

  const plausibleString = (name: string) => {
    switch (name) {
      case 'customer':
        return fc.constantFrom(world.customer.id, 'fuzz-main');
      case 'model':
        return fc.constantFrom('fal-ai/flux/schnell', 'openai/gpt-4o', 'acme/unknown');
      case 'publishable_key':
        return fc.constant(world.appA.publishable_key);
      case 'plan':
        return fc.constant('pro');
      default:
        return fc.oneof(fc.constant(`fuzz-${name}`), junkText);
    }
  };
  const plausibleValue = (name: string, schema: JsonSchema): fc.Arbitrary<unknown> => {
    if (schema.enum) return fc.constantFrom(...schema.enum);
    if (isNumberOrString(schema)) return fc.constantFrom(1, '0.5');
    if (schema.type === 'integer' || schema.type === 'number')
      return fc.constant(Math.max(1, schema.minimum ?? 1));
    if (schema.type === 'object') return fc.constant({});
    if (schema.type === 'array') return fc.constant([]);
    return plausibleString(name);
  };

  return fc.constantFrom(...operations).chain((operation) => {
    const bodyProperties = Object.entries(operation.body?.properties ?? {});
    const poisons: string[] = ['idempotency'];
    if (operation.auth !== 'public') poisons.push('auth', 'auth');
    if (operation.body) poisons.push('raw', 'body', 'body', 'body');
    if (operation.pathParams.length) poisons.push('path', 'path');
    if (operation.query.some((parameter) => queryPoisons(parameter).length > 0)) poisons.push('query');
    if (
      operation.auth === 'public' &&
      !operation.body &&
      !operation.query.length &&
      !operation.pathParams.length
    ) {
      poisons.push('idempotency');
    }
    return fc.constantFrom(...poisons).chain((poison) => {
      // Path.
      const pathParts = operation.pathParams.map((name, index) => {
        const real = realPathValue(operation, name);
        const junk = name === 'provider' ? providerJunk : pathJunk;
        if (poison === 'path') return index === 0 ? junk : fc.oneof(real, junk);
        return fc.oneof({ weight: 3, arbitrary: real }, { weight: 1, arbitrary: junk });
      });
      const poisonedParam = poison === 'path' ? fc.nat(operation.pathParams.length - 1) : fc.constant(-1);

      // Query.
      const queryArb = fc.record({
        which: fc.nat(),
        pick: fc.nat(),
        extra: fc.dictionary(fc.string({ maxLength: 10 }), junkText, { maxKeys: 3 }),
      });
      function plausibleQuery(name: string): string {
        if (name === 'publishable_key') return world.appA.publishable_key;
        if (name === 'customer') return world.customer.id;
        return '1';
      }

      // Body.
      const bodyArb: fc.Arbitrary<{ text?: string; contentType?: string; note: string }> = (() => {
        if (poison === 'raw') {
          return fc.oneof(
            fc
              .constantFrom(
                '{not json',
                '{"customer":',
                '[1,2',
                'nul',
                '"unterminated',
                '{"amount": NaN}',
                '{"amount": Infinity}',
                '{"a":1}garbage',
                '\ufeff{"a":1}',
                '[]',
                '[{"customer":"x"}]',
                '"just a string"',
                '12345',
                'null',
                'true',
                '[{"__proto__":{}}]',
                // An object, but nested deeper than any request needs: refused before it reaches the database.
                '['.repeat(20_000) + ']'.repeat(20_000),
                `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
              )
              .map((text) => ({ text, contentType: 'application/json', note: 'malformed body' })),
            fc
              .json()
              .filter((text) => !text.startsWith('{'))
              .map((text) => ({ text, contentType: 'application/json', note: 'non-object JSON' })),
            fc
              .constantFrom(
                'text/plain',
                'application/x-www-form-urlencoded',
                'multipart/form-data; boundary=x',
                'application/xml',
                '',
              )
              .map((contentType) => ({
                text: '{"customer":"x","model":"m","amount":1}',
                contentType,
                note: `content-type ${contentType || '(none)'}`,
              })),
            fc.constant({ text: '', contentType: 'application/json', note: 'empty body' }),
          );
        }
        const required = new Set(operation.body?.required ?? []);
        const propertyArbs = bodyProperties.map(([name, schema]) => {
          const poisonList = poisonsFor(name, schema);
          return fc.record({
            name: fc.constant(name),
            include: required.has(name) ? fc.constant(true) : fc.boolean(),
            plausible: plausibleValue(name, schema),
            poisoned: poisonList.length ? fc.constantFrom(...poisonList) : fc.constant(undefined),
          });
        });
        return fc
          .tuple(
            fc.tuple(...propertyArbs),
            fc.nat(Math.max(0, bodyProperties.length - 1)),
            fc.dictionary(fc.string({ maxLength: 12 }), junkValue, { maxKeys: 4 }),
          )
          .map(([properties, target, extra]) => {
            const body: Record<string, unknown> = { ...extra };
            const requiredProps = properties.filter((property) => required.has(property.name));
            for (const property of properties) delete body[property.name];
            if (poison === 'body') {
              // Every optional field present is poisoned, so none can stand in for the poisoned one.
              const poisonable = properties.filter((property) => property.poisoned !== undefined);
              const chosen = poisonable.length ? poisonable[target % poisonable.length]! : undefined;
              for (const property of properties) {
                if (property === chosen) body[property.name] = property.poisoned;
                else if (required.has(property.name)) body[property.name] = property.plausible;
                else if (property.include && property.poisoned !== undefined)
                  body[property.name] = property.poisoned;
              }
              if (!chosen)
                return {
                  text: '[]',
                  contentType: 'application/json',
                  note: 'no poisonable field: array body',
                };
              return {
                text: JSON.stringify(body),
                contentType: 'application/json',
                note: `poisoned ${chosen.name}`,
              };
            }
            for (const property of requiredProps) body[property.name] = property.plausible;
            for (const property of properties) {
              if (!required.has(property.name) && property.include) body[property.name] = property.plausible;
            }
            return { text: JSON.stringify(body), contentType: 'application/json', note: 'plausible body' };
          });
      })();

      // Keys.
      const authArb: fc.Arbitrary<{ headers: Record<string, string>; note: string }> = (() => {
        if (poison === 'auth' && operation.auth !== 'public') {
          const allowed = operation.auth;
          const wrongKinds = (['app', 'user', 'admin'] as const).filter((kind) => !allowed.includes(kind));
          return fc.oneof(
            fc.constant({ headers: {} as Record<string, string>, note: 'no key' }),
            headerJunk.map((value) => ({ headers: { authorization: value }, note: 'garbled authorization' })),
            headerJunk.map((value) => ({ headers: { 'x-api-key': value }, note: 'garbled x-api-key' })),
            fc.constantFrom('tg_sk_', 'tg_uk_', 'tg_pk_', 'tg_admin_', 'sk-').chain((prefix) =>
              fc
                .string({
                  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
                  minLength: 1,
                  maxLength: 40,
                })
                .map((rest) => ({
                  headers: { authorization: `Bearer ${prefix}${rest}` },
                  note: 'unknown key',
                })),
            ),
            fc.constant({ headers: { 'x-user-key': world.revokedUserKey }, note: 'revoked user key' }),
            fc.constant({
              headers: { authorization: `Bearer ${world.appA.publishable_key}` },
              note: 'publishable key as bearer',
            }),
            ...(wrongKinds.length
              ? [
                  fc
                    .constantFrom(...wrongKinds)
                    .map((kind) => ({ headers: realKeyFor(kind), note: `${kind} key not allowed` })),
                ]
              : []),
          );
        }
        if (operation.auth === 'public') {
          return fc.oneof(
            fc.constant({ headers: {} as Record<string, string>, note: 'public' }),
            headerJunk.map((value) => ({ headers: { authorization: value }, note: 'public with junk key' })),
          );
        }
        return fc
          .constantFrom(...operation.auth)
          .map((kind) => ({ headers: realKeyFor(kind), note: `${kind} key` }));
      })();

      const idempotencyArb =
        poison === 'idempotency'
          ? fc
              .constantFrom('', 'has space', 'k'.repeat(256), 'tab\there', 'caf\xe9')
              .map((value) => ({ 'idempotency-key': value }))
          : fc.oneof(
              fc.constant({}),
              fc
                .string({
                  unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
                  minLength: 1,
                  maxLength: 40,
                })
                .map((value) => ({ 'idempotency-key': value })),
            );

      return fc
        .record({
          path: pathParts.length ? fc.tuple(...pathParts) : fc.constant([] as string[]),
          poisonedParam,
          query: queryArb,
          body: bodyArb,
          auth: authArb,
          idempotency: idempotencyArb,
          sendBodyAnyway: fc.boolean(),
        })
        .map(({ path, poisonedParam: poisoned, query, body, auth, idempotency, sendBodyAnyway }) => {
          let url = operation.path;
          operation.pathParams.forEach((name, index) => {
            let value = path[index]!;
            // The poisoned parameter is junk; make sure it is not a real value by chance.
            if (index === poisoned && !value.startsWith('zz') && name !== 'provider') value = `zz${value}`;
            url = url.replace(`{${name}}`, value);
          });
          const search: string[] = [];
          const poisonable = operation.query.filter((parameter) => queryPoisons(parameter).length > 0);
          const target = poison === 'query' ? poisonable[query.which % poisonable.length] : undefined;
          for (const parameter of operation.query) {
            let value: string | undefined;
            if (parameter === target) {
              const own = queryPoisons(parameter);
              value = own[query.pick % own.length];
            } else if (parameter.required) {
              value = plausibleQuery(parameter.name);
            }
            if (value !== undefined)
              search.push(`${encodeURIComponent(parameter.name)}=${encodeURIComponent(value)}`);
          }
          for (const [name, value] of Object.entries(query.extra)) {
            if (operation.query.some((parameter) => parameter.name === name)) continue;
            try {
              search.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
            } catch {
              search.push('junk=%ED%A0%80');
            }
          }
          if (search.length) url += `?${search.join('&')}`;
          const headers: Record<string, string> = { ...auth.headers, ...idempotency };
          let text: string | undefined;
          if (operation.body || sendBodyAnyway) {
            text = body.text;
            if (body.contentType) headers['content-type'] = body.contentType;
          }
          if (operation.method === 'GET' || operation.method === 'HEAD') text = undefined;
          return {
            method: operation.method,
            path: url,
            headers,
            body: text,
            description: `${operation.method} ${operation.path} [poison ${poison}; ${auth.note}; ${body.note}]`,
          };
        });
    });
  });
}

for (const backend of testBackends()) {
  describe(`fuzzing every route (${backend.name})`, () => {
    let server: TestServer;
    let world: World;
    let operations: Operation[];

    beforeAll(async () => {
      server = await startTestServer(backend);
      const appA = await server.createApp({ name: 'Fuzz A', referral_rate: 0.1 });
      const appB = await server.createApp({ name: 'Fuzz B' });
      const customer = await server.createCustomer(appA.secret_key, 'fuzz-main');
      const other = await server.createCustomer(appB.secret_key, 'fuzz-other');
      const call = (method: string, path: string, key: string, body?: unknown) =>
        server.call(method, path, { key, body });
      const open = expectStatus(
        await call('POST', '/v1/holds', appA.secret_key, {
          customer: customer.id,
          model: 'fal-ai/veo3.1',
          quantity: 2,
        }),
        201,
      ).id;
      const captured = expectStatus(
        await call('POST', '/v1/holds', appA.secret_key, {
          customer: customer.id,
          model: 'fal-ai/flux/schnell',
        }),
        201,
      ).id;
      expectStatus(await call('POST', `/v1/holds/${captured}/capture`, appA.secret_key, {}), 200);
      const voided = expectStatus(
        await call('POST', '/v1/holds', appA.secret_key, {
          customer: customer.id,
          model: 'fal-ai/flux/schnell',
        }),
        201,
      ).id;
      expectStatus(await call('POST', `/v1/holds/${voided}/void`, appA.secret_key, {}), 200);
      expectStatus(
        await call('POST', '/v1/charges', appA.secret_key, {
          customer: customer.id,
          model: 'openai/gpt-4o',
          usage: { input_tokens: 1234, output_tokens: 567 },
        }),
        201,
      );
      const otherOpen = expectStatus(
        await call('POST', '/v1/holds', appB.secret_key, {
          customer: other.id,
          model: 'fal-ai/flux/schnell',
        }),
        201,
      ).id;
      const revoked = expectStatus(
        await call('POST', `/v1/customers/${customer.id}/user-keys`, appA.secret_key),
        201,
      );
      expectStatus(
        await call('DELETE', `/v1/customers/${customer.id}/user-keys/${revoked.id}`, appA.secret_key),
        200,
      );
      const keys = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, appA.secret_key),
        200,
      );
      world = {
        appA,
        appB,
        customer,
        other,
        revokedUserKey: revoked.user_key,
        userKeyIds: keys.data.map((row: any) => row.id),
        holds: { open, captured, voided, otherOpen },
      };
      operations = operationsOf(expectStatus(await server.call('GET', '/openapi.json'), 200));
      // The gateway endpoints answer in their own dialects and are not in the native document.
      const gatewayBody: JsonSchema = {
        type: 'object',
        properties: { model: { type: 'string', minLength: 1 }, max_tokens: { type: 'integer', minimum: 1 } },
        required: ['model'],
      };
      for (const path of ['/v1/chat/completions', '/v1/messages']) {
        if (operations.some((operation) => operation.path === path)) continue;
        operations.push({
          method: 'POST',
          path,
          auth: ['app', 'admin', 'user'],
          body: gatewayBody,
          query: [],
          pathParams: [],
        });
      }
    });
    afterAll(async () => {
      await server?.close();
    });

    async function worldSnapshot() {
      const holds: Record<string, unknown> = {};
      for (const [name, id] of Object.entries(world.holds)) {
        const key = name === 'otherOpen' ? world.appB.secret_key : world.appA.secret_key;
        holds[name] = expectStatus(await server.call('GET', `/v1/holds/${id}`, { key }), 200);
      }
      return {
        main: await moneySnapshot(server, world.appA.secret_key, world.customer.id),
        other: await moneySnapshot(server, world.appB.secret_key, world.other.id),
        holds,
        // Keys and their limits; not when each was last used (a hostile request with a valid key uses it).
        userKeys: expectStatus(
          await server.call('GET', `/v1/customers/${world.customer.id}/user-keys`, {
            key: world.appA.secret_key,
          }),
          200,
        ).data.map(({ last_used_at: _lastUsed, ...key }: Record<string, unknown>) => key),
        providerKeys: expectStatus(
          await server.call('GET', `/v1/customers/${world.customer.id}/provider-keys`, {
            key: world.appA.secret_key,
          }),
          200,
        ),
        apps: expectStatus(await server.call('GET', '/v1/apps', { key: ADMIN_KEY }), 200).data.length,
        customers: (
          await server.tollgate.db.query<{ n: string }>('select count(*)::text as n from customers')
        )[0]!.n,
        transactions: (
          await server.tollgate.db.query<{ n: string }>('select count(*)::text as n from ledger_transactions')
        )[0]!.n,
        holdRows: (await server.tollgate.db.query<{ n: string }>('select count(*)::text as n from holds'))[0]!
          .n,
      };
    }

    it('lists the routes it fuzzes', () => {
      const listed = operations.map((operation) => `${operation.method} ${operation.path}`);
      for (const route of [
        'POST /v1/holds',
        'POST /v1/charges',
        'POST /v1/holds/{id}/capture',
        'POST /v1/customers/{id}/grants',
        'GET /v1/credits/pricing',
      ]) {
        expect(listed).toContain(route);
      }
    });

    it(`answers ${RUNS} hostile requests with typed 4xx errors and changes nothing`, async () => {
      const before = await worldSnapshot();
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      const outcomes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(requestArbitrary(operations, world), async (request) => {
          let response: { status: number; body: any; headers: Headers };
          try {
            const raw = await fetch(`${server.url}${request.path}`, {
              method: request.method,
              headers: request.headers,
              body: request.body,
            });
            const text = await raw.text();
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : null;
            } catch {
              // not JSON: the assertion below reports it
            }
            response = { status: raw.status, body, headers: raw.headers };
          } catch (error) {
            failures.push(
              `${request.description} ${request.path}: transport error ${(error as Error).message}`,
            );
            throw error;
          }
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const code = String(response.body?.error?.code ?? response.body?.error?.type ?? response.status);
          const kind = request.description.replace(/^.*\[poison (\w+).*$/, '$1');
          outcomes.set(`${kind} → ${code}`, (outcomes.get(`${kind} → ${code}`) ?? 0) + 1);
          const context = `${request.description}\n  ${request.method} ${request.path.slice(0, 300)}\n  headers ${JSON.stringify(request.headers).slice(0, 300)}\n  body ${String(request.body).slice(0, 300)}\n  → ${response.status} ${JSON.stringify(response.body).slice(0, 400)}`;
          const routePath = request.path.split('?')[0]!;
          expectTypedError(response, routePath, context);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      expect(failures).toEqual([]);
      if (process.env.TOLLGATE_FUZZ_REPORT)
        console.log(
          [...outcomes]
            .sort()
            .map(([outcome, count]) => `${outcome}: ${count}`)
            .join('\n'),
        );
      // Mostly refusals of every kind, not one kind.
      expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(4);

      const after = await worldSnapshot();
      expect(after).toEqual(before);
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });
}
