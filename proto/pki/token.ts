// Join tokens: SHOAL-1-<digest of the root CA>-<secret>, like Swarm's SWMTKN-1-...
// The digest (sha256 of the root certificate's DER, base 36, 50 characters) lets a joiner
// check the CA it is sent before it trusts anything else; the secret (base 36, 25
// characters) is what the manager checks. A worker and a manager token differ in secret.
import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { splitPem } from './x509.js';

const PREFIX = 'SHOAL-1-';
const DIGEST_CHARS = 50;
const SECRET_CHARS = 25;
const TOKEN_RE = /^SHOAL-1-([0-9a-z]{50})-([0-9a-z]{25})$/;

function base36(bytes: Buffer, chars: number): string {
  return BigInt('0x' + bytes.toString('hex'))
    .toString(36)
    .padStart(chars, '0')
    .slice(-chars);
}

/** The digest of the first (signing) root of a PEM bundle, as join tokens carry it. */
export function rootDigest(caPem: string): string {
  const first = splitPem(caPem)[0];
  if (!first) throw new Error('no certificate in the CA bundle');
  return base36(createHash('sha256').update(new X509Certificate(first).raw).digest(), DIGEST_CHARS);
}

/** Whether any root of a PEM bundle has this digest. */
export function bundleHasDigest(caPem: string, digest: string): boolean {
  return splitPem(caPem).some((pem) => rootDigest(pem) === digest);
}

export function newTokenSecret(): string {
  return base36(randomBytes(20), SECRET_CHARS);
}

export function formatToken(digest: string, secret: string): string {
  return `${PREFIX}${digest}-${secret}`;
}

export interface ParsedToken {
  digest: string;
  secret: string;
}

/** The parts of a join token, or undefined when it does not have a token's shape. */
export function parseToken(token: string): ParsedToken | undefined {
  const m = TOKEN_RE.exec(token.trim());
  return m ? { digest: m[1]!, secret: m[2]! } : undefined;
}

export const TOKEN_SHAPE = `SHOAL-1-<${DIGEST_CHARS} characters>-<${SECRET_CHARS} characters>`;

/** Constant-time comparison of two secrets. */
export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
