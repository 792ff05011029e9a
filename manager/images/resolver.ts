// Which registries the manager may ask for digests, and how: `--resolve-image-registries`
// (default any; `none`: never) limits the registries (and bearer-token servers) it contacts,
// `--insecure-registry HOST:PORT` (repeatable, as dockerd's) is spoken to in plain HTTP, as is
// any registry on loopback (127.0.0.0/8, localhost, ::1: docker treats those as insecure too).
// Everything else is HTTPS. A resolution takes at most RESOLVE_TIMEOUT_MS in all.
import { familiarString, parseImageRef, DOCKER_HUB } from '../../proto/image-ref.js';
import { decodeRegistryAuth, registryHost } from '../../proto/registry-auth.js';
import { type Credentials, RegistryClient, RegistryError } from './registry.js';

/**
 * One resolution, all its requests together (token, HEAD, maybe GET). A registry on the
 * same network answers in milliseconds; Docker Hub in well under a second. Kept well below
 * the CLI's 10 s call deadline, so a stuck registry costs a warning, never a failed create.
 */
export const RESOLVE_TIMEOUT_MS = 5_000;
/** Docker Hub's API host (references say docker.io). */
const DOCKER_HUB_API = 'registry-1.docker.io';

export interface ImageResolverOptions {
  /** Registries (and token hosts) that may be contacted, as `HOST[:PORT]`; 'any': all. */
  allowed: 'any' | readonly string[];
  /** Registries spoken to in plain HTTP (`HOST:PORT`). */
  insecure?: readonly string[];
  timeoutMs?: number;
  /** Tests: another fetch. */
  fetch?: typeof fetch;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export class ImageResolver {
  private readonly allowed: 'any' | Set<string>;
  private readonly insecure: Set<string>;
  private readonly client: RegistryClient;
  private readonly timeoutMs: number;

  constructor(opts: ImageResolverOptions) {
    this.allowed = opts.allowed === 'any' ? 'any' : new Set(opts.allowed.map((h) => h.toLowerCase()));
    this.insecure = new Set((opts.insecure ?? []).map((h) => h.toLowerCase()));
    this.timeoutMs = opts.timeoutMs ?? RESOLVE_TIMEOUT_MS;
    this.client = new RegistryClient({
      baseUrl: (domain) => this.baseUrl(domain),
      allowedHost: (host) => this.mayContact(host),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
  }

  /** May the manager contact this registry (a reference's domain, or a token server's host)? */
  mayContact(host: string): boolean {
    if (this.allowed === 'any') return true;
    const h = host.toLowerCase();
    return this.allowed.has(h) || (h === DOCKER_HUB_API && this.allowed.has(DOCKER_HUB));
  }

  private baseUrl(domain: string): string {
    const host = domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
    const plain = this.insecure.has(domain.toLowerCase()) || isLoopback(domain);
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  /**
   * `image` pinned to the digest its tag points to now: `NAME:TAG@sha256:...` (docker's
   * familiar form); an image that has a digest already comes back as it is. `registryAuth`
   * (X-Registry-Auth, '' for none) is used only when it is for the image's registry.
   * Throws a one-line Error (RegistryError or an invalid reference) when it cannot.
   */
  async pin(image: string, registryAuth: string, signal?: AbortSignal): Promise<string> {
    const ref = parseImageRef(image);
    if (ref.digest !== '') return image;
    if (!this.mayContact(ref.domain))
      throw new RegistryError(`registry ${ref.domain} is not in this manager's --resolve-image-registries`);
    let creds: Credentials | undefined;
    if (registryAuth !== '') {
      const auth = decodeRegistryAuth(registryAuth);
      const forHost = auth.serveraddress === '' ? ref.domain : registryHost(auth.serveraddress);
      if (forHost === ref.domain) creds = { username: auth.username, password: auth.password };
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const digest = await this.client.digest(ref, creds, signal ? AbortSignal.any([signal, timeout]) : timeout);
    return familiarString({ ...ref, digest });
  }
}
