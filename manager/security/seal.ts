// Sealing with the cluster key: AES-256-GCM, a random 12-byte nonce per value, and what the
// value is (its etcd key, say) as associated data, so a sealed value moved elsewhere does
// not open. Output: nonce | tag | ciphertext, base64.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: Buffer, plain: Buffer, associated: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(associated));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
}

/** The plaintext, or an error when the key or the associated data is not the one sealed with. */
export function open(key: Buffer, sealed: string, associated: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  const nonce = raw.subarray(0, NONCE_BYTES);
  const tag = raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(associated));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new Error(`cannot open ${associated}: not sealed with this cluster key`, { cause: err });
  }
}
