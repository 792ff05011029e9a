// What every holder of a shoal certificate does with X.509 (manager, agent and CLI alike):
// make a key and a CSR, read the identity a certificate names, and keep a bundle on disk.
// Keys are ECDSA P-256 and never leave the process that made them (only the CSR does).
// Signing is the manager's (manager/security/ca.ts).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** The name every manager's server certificate carries (clients check the role, not a host name). */
export const MANAGER_SERVER_NAME = 'shoal-manager';

export type RoleName = 'worker' | 'manager' | 'admin';
export const ROLE_NAMES: readonly RoleName[] = ['worker', 'manager', 'admin'];

/** Who a certificate names: CN = id, OU = role, O = cluster id (Swarm's layout). */
export interface Identity {
  id: string;
  role: RoleName;
  clusterId: string;
}

export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
}

/** A fresh P-256 key and a CSR for it (its subject is ignored: the manager names the holder). */
export async function newKeyAndCsr(): Promise<KeyAndCsr> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=shoal-csr',
    keys: keys,
    signingAlgorithm: KEY_ALGORITHM,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: toPem(Buffer.from(pkcs8), 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

export function toPem(der: Buffer, label: string): string {
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** Every certificate in a PEM bundle, in order. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** The identity of a subject given as grpc-js/Node give it ({CN, OU, O}); undefined if not one of ours. */
export function identityOfSubject(subject: Record<string, unknown> | undefined): Identity | undefined {
  if (!subject) return undefined;
  const one = (v: unknown) => (Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : '');
  const id = one(subject.CN);
  const role = one(subject.OU) as RoleName;
  const clusterId = one(subject.O);
  if (!id || !clusterId || !ROLE_NAMES.includes(role)) return undefined;
  return { id, role, clusterId };
}

export interface CertificateInfo extends Identity {
  notBeforeMs: number;
  notAfterMs: number;
}

/** The identity and validity of the first certificate of a PEM bundle. */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = new X509Certificate(pem);
  const fields: Record<string, string> = {};
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const identity = identityOfSubject(fields);
  if (!identity) throw new Error(`not a shoal certificate (subject ${cert.subject.replace(/\n/g, ', ')})`);
  return { ...identity, notBeforeMs: Date.parse(cert.validFrom), notAfterMs: Date.parse(cert.validTo) };
}

/**
 * When to renew a certificate: at a random point between 50% and 80% of its life (Swarm's
 * rule, so a cluster's nodes do not all renew at once), as a delay from `nowMs`.
 */
export function renewDelayMs(notBeforeMs: number, notAfterMs: number, nowMs: number, random = Math.random): number {
  const life = notAfterMs - notBeforeMs;
  const at = notBeforeMs + life * (0.5 + 0.3 * random());
  return Math.max(0, at - nowMs);
}
