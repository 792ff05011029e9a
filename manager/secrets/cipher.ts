// AES-256-GCM, the one authenticated cipher of the manager's secrets: a random 12-byte nonce
// per seal, and associated data that binds the sealed bytes to what they belong to (a
// secret's id, a data key's id), so sealed data moved to another record does not open.
//
//   sealed = VERSION (1 byte) | nonce (12) | tag (16) | ciphertext
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
export const KEY_BYTES = 32;
const NONCE_BYTES = 12; // GCM's native nonce size; random nonces are safe far beyond our seal counts
const TAG_BYTES = 16;
const VERSION = 1;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

/** Sealed bytes that do not open: wrong key, wrong associated data, or tampered with. */
export class OpenError extends Error {
  override name = 'OpenError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function seal(key: Buffer, plaintext: Uint8Array, aad: string): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`an AES-256 key has ${KEY_BYTES} bytes, not ${key.length}`);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Uint8Array, aad: string): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`an AES-256 key has ${KEY_BYTES} bytes, not ${key.length}`);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < HEADER_BYTES || buf[0] !== VERSION)
    throw new OpenError(`sealed data of ${aad} is malformed (${buf.length} bytes)`);
  const nonce = buf.subarray(1, 1 + NONCE_BYTES);
  const tag = buf.subarray(1 + NONCE_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES)), decipher.final()]);
  } catch (err) {
    throw new OpenError(`cannot open the sealed data of ${aad}: wrong key or tampered data`, { cause: err });
  }
}
