import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Random, unguessable identifier with a type prefix: `newId('hold')` → `hold_3kf9…` (128 bits). */
export function newId(prefix: string, bytes = 16): string {
  return `${prefix}_${randomToken(bytes)}`;
}

/** Base-36 text of `bytes` random bytes. */
export function randomToken(bytes: number): string {
  const buffer = randomBytes(bytes);
  let value = BigInt(`0x${buffer.toString('hex')}`);
  let text = '';
  while (value > 0n) {
    text = ALPHABET[Number(value % 36n)] + text;
    value /= 36n;
  }
  return text.padStart(Math.ceil((bytes * 8) / Math.log2(36)), '0');
}
