/**
 * Provider keys are stored encrypted with AES-256-GCM under a key derived from TOLLGATE_SECRET.
 * Each value has its own random 96-bit nonce; the stored text is `v1.<nonce>.<tag>.<ciphertext>`.
 *
 * Rotation: the box holds several secrets. The first seals; every one opens (GCM's tag says which
 * fits), so a new secret can go first while values sealed under the old ones still open, until
 * `tollgate secrets rotate` has re-sealed them all under the first.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { TollgateError } from '../shared/errors.ts';

export const MIN_SECRET_LENGTH = 16;

/** `TOLLGATE_SECRET=new,old`: comma-separated, first one encrypts, all decrypt. */
export function parseSecretList(text: string | undefined): string[] {
  const secrets = (text ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');
  for (const [index, secret] of secrets.entries()) {
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new Error(
        `TOLLGATE_SECRET: secret ${index + 1} of ${secrets.length} has ${secret.length} characters; each must have at least ${MIN_SECRET_LENGTH}`,
      );
    }
  }
  return [...new Set(secrets)];
}

export interface SecretBoxOptions {
  /** Why sealing is refused when there is no sealing secret (the error the caller sees). */
  cannotSealReason?: string;
}

export class SecretBox {
  private readonly keys: Buffer[];
  private readonly canSeal: boolean;
  private readonly cannotSealReason: string;

  /**
   * `secrets[0]` seals, all open. `sealing: false`: the box only opens (values sealed earlier) and
   * refuses to seal new ones — production without TOLLGATE_SECRET.
   */
  constructor(secrets: string | string[], options: SecretBoxOptions & { sealing?: boolean } = {}) {
    const list = typeof secrets === 'string' ? [secrets] : secrets;
    for (const secret of list) {
      if (secret.length < MIN_SECRET_LENGTH)
        throw new Error(`TOLLGATE_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    this.keys = list.map((secret) =>
      createHash('sha256').update(`tollgate provider keys\0${secret}`).digest(),
    );
    this.canSeal = (options.sealing ?? true) && this.keys.length > 0;
    this.cannotSealReason =
      options.cannotSealReason ?? 'This server cannot store provider keys: TOLLGATE_SECRET is not set.';
  }

  seal(plaintext: string, associatedData: string): string {
    if (!this.canSeal)
      throw new TollgateError('unavailable', this.cannotSealReason, { reason: 'secret_not_configured' });
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, nonce);
    cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      'v1',
      nonce.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      ciphertext.toString('base64url'),
    ].join('.');
  }

  open(sealed: string, associatedData: string): string {
    return this.openWithIndex(sealed, associatedData).plaintext;
  }

  /** The plaintext and which secret opened it (0: the sealing one; more: due for `secrets rotate`). */
  openWithIndex(sealed: string, associatedData: string): { plaintext: string; index: number } {
    const [version, nonce, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !nonce || !tag || ciphertext === undefined) {
      throw new TollgateError('internal_error', 'stored provider key is malformed');
    }
    for (const [index, key] of this.keys.entries()) {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        const plaintext = Buffer.concat([
          decipher.update(Buffer.from(ciphertext, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
        return { plaintext, index };
      } catch {
        // Not this secret: try the next.
      }
    }
    throw new TollgateError(
      'internal_error',
      'stored provider key cannot be decrypted with any configured secret (was TOLLGATE_SECRET replaced instead of rotated? Put the new secret first and keep the old one after a comma: TOLLGATE_SECRET=new,old)',
    );
  }
}

/** `sk-abc…wxyz` style mask: enough to recognise a key, never enough to use it. */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '•'.repeat(secret.length);
  return `${secret.slice(0, 4)}…${secret.slice(-4)}`;
}
