// docker's X-Registry-Auth: base64url (padded, as docker's CLI writes it; plain base64 is
// read too) of a JSON object {username, password, serveraddress} (or an identitytoken).
// The CLI encodes what ~/.docker/config.json holds for an image's registry; the manager
// checks it (bounded), seals it, and uses it to resolve the image; agents pull with it.
import { DOCKER_HUB } from './image-ref.js';

/** Far more than any username, password or token docker keeps. */
export const MAX_REGISTRY_AUTH_BYTES = 16 * 1024;

export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry these credentials are for (`10.213.0.1:5001`, `https://index.docker.io/v1/`). */
  serveraddress: string;
  /** An OAuth refresh token docker keeps instead of a password (sent as the password). */
  identitytoken?: string;
}

export function encodeRegistryAuth(auth: RegistryAuth): string {
  const o: Record<string, string> = {
    username: auth.username,
    password: auth.password,
    serveraddress: auth.serveraddress,
  };
  if (auth.identitytoken) o.identitytoken = auth.identitytoken;
  // Padded: Go's base64.URLEncoding (dockerd's decoder) refuses unpadded input, and dockerd
  // then pulls with no credentials at all.
  return Buffer.from(JSON.stringify(o), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decodes an X-Registry-Auth; throws a one-line Error naming what is wrong (never the content). */
export function decodeRegistryAuth(text: string): RegistryAuth {
  if (text.length > MAX_REGISTRY_AUTH_BYTES)
    throw new Error(`registry auth is ${text.length} bytes, over the ${MAX_REGISTRY_AUTH_BYTES}-byte limit`);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new Error('registry auth is not base64');
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new Error('registry auth is not base64 of a JSON object');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new Error('registry auth is not base64 of a JSON object');
  const r = o as Record<string, unknown>;
  const str = (k: string): string => {
    const v = r[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new Error(`registry auth: ${k} is not a string`);
    return v;
  };
  const auth: RegistryAuth = {
    username: str('username'),
    password: str('password'),
    serveraddress: str('serveraddress'),
  };
  const token = str('identitytoken');
  if (token) auth.identitytoken = token;
  return auth;
}

/**
 * A registry address as docker keys it (config.json's `auths`, X-Registry-Auth's
 * serveraddress) reduced to the domain of an image reference: the scheme and path dropped,
 * Docker Hub's names (`https://index.docker.io/v1/`, `registry-1.docker.io`) made `docker.io`.
 */
export function registryHost(address: string): string {
  let host = address.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com')
    return DOCKER_HUB;
  return host;
}
