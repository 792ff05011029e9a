// A small client of the registry HTTP API v2: the digest a tag points to, as docker's daemon
// asks it (HEAD /v2/<name>/manifests/<tag>, the manifest-list, OCI index and v2 manifest
// media types accepted, `Docker-Content-Digest`), with the two ways registries ask for
// credentials: a bearer-token challenge (`WWW-Authenticate: Bearer realm=...,service=...,
// scope=...`: fetch a token from the realm, with basic credentials when we have them) and
// plain basic auth. Bounded: every call shares one deadline, bodies are read up to a cap,
// redirects are refused (a registry cannot send us to another host), and the token realm
// must be a host the caller allows.
import { createHash } from 'node:crypto';
import type { ImageRef } from '../../proto/image-ref.js';

/** The media types whose digest docker pins (a multi-platform index first, as docker asks). */
export const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
];
/** Manifests are a few KiB; docker's own limit is 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A token answer is a JSON object of a few KiB at most. */
export const MAX_TOKEN_BYTES = 64 * 1024;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface Credentials {
  username: string;
  password: string;
}

/** Why a tag could not be resolved, in one line; never retried by the caller. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface RegistryClientOptions {
  /** The base URL of a registry (`http://10.213.0.1:5000`), by its domain as in references. */
  baseUrl: (domain: string) => string;
  /** May this host (`HOST[:PORT]`, as in a URL) be contacted (the token realm's host too)? */
  allowedHost: (host: string) => boolean;
  /** Tests: another fetch. */
  fetch?: typeof fetch;
}

/** A `WWW-Authenticate` challenge: its scheme (lowercase) and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses the first challenge of a `WWW-Authenticate` header (`Bearer realm="...",service="..."`). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  re.lastIndex = 0;
  let p: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/** Reads at most `max` bytes of a body; more is an error (the rest is not read). */
async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new RegistryError(`${what} is ${declared} bytes, over the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new RegistryError(`${what} is over the ${max}-byte limit`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

export class RegistryClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: RegistryClientOptions) {
    this.fetch = opts.fetch ?? fetch;
  }

  /** The digest `ref`'s tag points to now (`sha256:...`). Throws RegistryError. */
  async digest(ref: ImageRef, creds: Credentials | undefined, signal: AbortSignal): Promise<string> {
    const base = this.opts.baseUrl(ref.domain);
    const url = `${base}/v2/${ref.path}/manifests/${ref.tag}`;
    const where = `${ref.domain}/${ref.path}:${ref.tag}`;
    let res = await this.request(url, 'HEAD', undefined, signal);
    if (res.status === 401) {
      const authorization = await this.authorize(res, ref, creds, signal);
      res = await this.request(url, 'HEAD', authorization, signal);
      if (res.status === 401 || res.status === 403) {
        throw new RegistryError(
          creds ? `${ref.domain} refused the credentials for ${ref.path}` : `${ref.domain} requires credentials`,
        );
      }
      if (res.ok && !res.headers.get('docker-content-digest'))
        res = await this.request(url, 'GET', authorization, signal);
    } else if (res.ok && !res.headers.get('docker-content-digest')) {
      res = await this.request(url, 'GET', undefined, signal);
    }
    if (res.status === 404) throw new RegistryError(`manifest unknown: ${where} not found`);
    if (res.status === 403) throw new RegistryError(`${ref.domain} denied access to ${ref.path}`);
    if (!res.ok) throw new RegistryError(`${ref.domain} answered HTTP ${res.status} for ${where}`);
    const header = res.headers.get('docker-content-digest') ?? '';
    if (res.request === 'GET') {
      // Without the header, the digest is the sha256 of the manifest's bytes (as docker computes it).
      const body = await readCapped(res.response, MAX_MANIFEST_BYTES, `the manifest of ${where}`);
      const computed = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (header === '' || header === computed) return computed;
      throw new RegistryError(`${ref.domain} sent a manifest whose digest is not ${header}`);
    }
    if (!DIGEST.test(header)) throw new RegistryError(`${ref.domain} sent no usable Docker-Content-Digest`);
    return header;
  }

  /** The Authorization header a 401 asks for (fetching a bearer token when needed). */
  private async authorize(
    res: Wrapped,
    ref: ImageRef,
    creds: Credentials | undefined,
    signal: AbortSignal,
  ): Promise<string> {
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    if (challenge?.scheme === 'basic') {
      if (!creds) throw new RegistryError(`${ref.domain} requires credentials`);
      return basic(creds);
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryError(`${ref.domain} asked for an authentication it does not name`);
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new RegistryError(`${ref.domain} named a bad token realm "${challenge.params.realm}"`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:')
      throw new RegistryError(`${ref.domain} named a token realm that is not http(s)`);
    if (!this.opts.allowedHost(realm.host)) {
      throw new RegistryError(`${ref.domain}'s token server ${realm.host} is not a registry this manager may contact`);
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope || `repository:${ref.path}:pull`);
    const tokenRes = await this.request(realm.toString(), 'GET', creds && basic(creds), signal);
    if (tokenRes.status === 401 || tokenRes.status === 403) {
      throw new RegistryError(
        creds ? `${ref.domain}'s token server refused the credentials` : `${ref.domain} requires credentials`,
      );
    }
    if (!tokenRes.ok) {
      throw new RegistryError(`${ref.domain}'s token server answered HTTP ${tokenRes.status}`);
    }
    const body = await readCapped(tokenRes.response, MAX_TOKEN_BYTES, `${ref.domain}'s token`);
    let token: unknown;
    try {
      const o = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = o.token ?? o.access_token;
    } catch {
      throw new RegistryError(`${ref.domain}'s token server sent no JSON`);
    }
    if (typeof token !== 'string' || token === '')
      throw new RegistryError(`${ref.domain}'s token server sent no token`);
    return `Bearer ${token}`;
  }

  private async request(
    url: string,
    method: 'HEAD' | 'GET',
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<Wrapped> {
    const headers: Record<string, string> = { accept: MANIFEST_TYPES.join(', ') };
    if (authorization) headers.authorization = authorization;
    let response: Response;
    try {
      response = await this.fetch(url, { method, headers, signal, redirect: 'manual' });
    } catch (err) {
      if (signal.aborted) throw new RegistryError(`no answer from ${new URL(url).host} in time`, { cause: err });
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError(
        `cannot reach ${new URL(url).host}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => {});
      throw new RegistryError(`${new URL(url).host} redirected the request (not followed)`);
    }
    // A HEAD (or an error answer) has no body worth reading: release the connection.
    if (method === 'HEAD' || !response.ok) await response.body?.cancel().catch(() => {});
    return new Wrapped(response, method);
  }
}

/** A response and the method that asked for it. */
class Wrapped {
  constructor(
    readonly response: Response,
    readonly request: 'HEAD' | 'GET',
  ) {}
  get status(): number {
    return this.response.status;
  }
  get ok(): boolean {
    return this.response.ok;
  }
  get headers(): Headers {
    return this.response.headers;
  }
}
