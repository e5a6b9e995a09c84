/**
 * Request bodies are written by hand rather than by `JSON.stringify`, so that amounts can be
 * emitted as JSON numbers straight from their exact decimal text (`0.3`, never
 * `0.30000000000000004`).
 */
import { type AmountInput, Credits, isCredits } from './amounts.ts';

/** A JSON number that is written from its decimal text as is. */
export class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

const JSON_NUMBER_PATTERN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A decimal that is not a credit amount (a `quantity` of units, an `amount_usd`), written as a JSON
 * number from its text. The server owns the precision rules for these; this only checks the syntax.
 */
export function decimalNumber(value: number | string, field: string): JsonNumber {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${field} must be a finite number`);
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new TypeError(`${field} must be a number or a decimal string`);
  }
  if (!JSON_NUMBER_PATTERN.test(text))
    throw new RangeError(`${field} ${JSON.stringify(value)} is not a decimal number`);
  return new JsonNumber(text);
}

/** Normalizes an optional credit amount, failing before any request is sent when it is not exact. */
export function optionalCredits(value: AmountInput | undefined): Credits | undefined {
  return value === undefined ? undefined : Credits.from(value);
}

/** Normalizes an optional non-credit decimal. */
export function optionalDecimal(value: number | string | undefined, field: string): JsonNumber | undefined {
  return value === undefined ? undefined : decimalNumber(value, field);
}

/** JSON text of a request body; `Credits` and `JsonNumber` become numbers written from exact text. */
export function encodeJson(value: unknown): string {
  if (isCredits(value)) return value.toString();
  if (value instanceof JsonNumber) return value.text;
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`cannot send ${value} as JSON`);
      return JSON.stringify(value);
    case 'bigint':
      throw new TypeError('a bigint is ambiguous on the wire; wrap micro-credits with credits(micros)');
    case 'object': {
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return encodeJson(withJson.toJSON());
      if (Array.isArray(value)) {
        return `[${value.map((item) => (isSkipped(item) ? 'null' : encodeJson(item))).join(',')}]`;
      }
      const members: string[] = [];
      for (const [key, item] of Object.entries(value)) {
        if (!isSkipped(item)) members.push(`${JSON.stringify(key)}:${encodeJson(item)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`cannot send a ${typeof value} as JSON`);
  }
}

function isSkipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}
