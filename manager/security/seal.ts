// Sealing with the cluster key for the CA record (its signing key, the tokens' secrets): the
// secrets' one cipher (secrets/cipher.ts: AES-256-GCM with associated data naming what is
// sealed), as base64 text for a JSON record.
import { open as openBytes, seal as sealBytes } from '../secrets/cipher.js';

export function seal(key: Buffer, plain: Buffer, associated: string): string {
  return sealBytes(key, plain, associated).toString('base64');
}

/** The plaintext, or an error when the key or the associated data is not the one sealed with. */
export function open(key: Buffer, sealed: string, associated: string): Buffer {
  return openBytes(key, Buffer.from(sealed, 'base64'), associated);
}
