import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** 252 = 7 × 36: bytes below it map onto the alphabet evenly; the few above are skipped. */
const UNBIASED_LIMIT = 252;

/**
 * Random bytes are drawn from the CSPRNG a page at a time: ids are made on every ledger operation,
 * and one system call per id (and big-integer arithmetic per character) cost more than the operation.
 */
const pool = Buffer.alloc(4096);
let position = pool.length;

function randomByte(): number {
  if (position === pool.length) {
    randomFillSync(pool);
    position = 0;
  }
  const byte = pool[position]!;
  position += 1;
  return byte;
}

/** Random, unguessable identifier with a type prefix: `newId('hold')` → `hold_3kf9…` (128 bits). */
export function newId(prefix: string, bytes = 16): string {
  return `${prefix}_${randomToken(bytes)}`;
}

/**
 * `bytes × 8` bits of randomness as base-36 text: each character is uniform over [0-9a-z] (5.17 bits),
 * and there are as many characters as it takes to carry those bits.
 */
export function randomToken(bytes: number): string {
  const length = Math.ceil((bytes * 8) / Math.log2(36));
  let text = '';
  while (text.length < length) {
    const byte = randomByte();
    if (byte < UNBIASED_LIMIT) text += ALPHABET[byte % 36];
  }
  return text;
}
