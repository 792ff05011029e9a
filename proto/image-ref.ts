// Image references as docker reads them (distribution/reference's rules), shared by the CLI
// (which registry's credentials to send) and the manager (where to resolve a tag):
//   [DOMAIN[:PORT]/]PATH[:TAG][@ALGO:HEX]
// The first component is a domain only when it has a '.' or a ':' or is `localhost`
// (`busybox`, `library/busybox` and `foo/bar` are on docker.io); docker.io's one-component
// names get `library/`; no tag and no digest means `latest`; `index.docker.io` is docker.io.

export const DOCKER_HUB = 'docker.io';
export const DEFAULT_TAG = 'latest';
/** docker's limit on a repository name (domain and path). */
const NAME_TOTAL_MAX = 255;

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;

export interface ImageRef {
  /** `docker.io`, `10.213.0.1:5000`, `localhost:5000`, ... */
  domain: string;
  /** `library/busybox`, `shoal/busybox`. */
  path: string;
  /** Given or `latest` (when neither a tag nor a digest was given); '' with a digest only. */
  tag: string;
  /** `sha256:...` when the reference has one, else ''. */
  digest: string;
}

export class ImageRefError extends Error {
  override name = 'ImageRefError';
}

function validDomain(domain: string): boolean {
  const colon = domain.startsWith('[') ? domain.indexOf(':', domain.indexOf(']')) : domain.lastIndexOf(':');
  const host = colon < 0 ? domain : domain.slice(0, colon);
  const port = colon < 0 ? undefined : domain.slice(colon + 1);
  if (port !== undefined && !PORT.test(port)) return false;
  if (IPV6.test(host)) return true;
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parses `image` by docker's rules; throws ImageRefError with a one-line reason. */
export function parseImageRef(image: string): ImageRef {
  const bad = (why: string): never => {
    throw new ImageRefError(`invalid image reference "${image}": ${why}`);
  };
  if (image === '') bad('empty');
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad(`bad digest "${digest}"`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest)) bad('a sha256 digest has 64 lowercase hex digits');
  }
  let tag = '';
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`bad tag "${tag}"`);
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const first = rest.indexOf('/');
  if (first >= 0) {
    const head = rest.slice(0, first);
    if (head.includes('.') || head.includes(':') || head === 'localhost') {
      domain = head;
      path = rest.slice(first + 1);
      if (!validDomain(domain)) bad(`bad registry "${domain}"`);
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (path === '') bad('no repository name');
  if (path.toLowerCase() !== path) bad('repository name must be lowercase');
  if (!path.split('/').every((c) => COMPONENT.test(c))) bad(`bad repository name "${path}"`);
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (domain.length + 1 + path.length > NAME_TOTAL_MAX) bad(`repository name longer than ${NAME_TOTAL_MAX} characters`);
  if (tag === '' && digest === '') tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** The repository as docker shows it: `busybox`, `foo/bar`, `10.213.0.1:5000/shoal/busybox`. */
export function familiarName(ref: Pick<ImageRef, 'domain' | 'path'>): string {
  if (ref.domain !== DOCKER_HUB) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice(8) : ref.path;
}

/** docker's familiar string: `NAME[:TAG][@DIGEST]`. */
export function familiarString(ref: ImageRef): string {
  return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The registry an image is pulled from (docker.io for Docker Hub), or undefined when it does not parse. */
export function registryOf(image: string): string | undefined {
  try {
    return parseImageRef(image).domain;
  } catch {
    return undefined;
  }
}

/** True when `image` carries a digest (`...@sha256:...`). */
export function hasDigest(image: string): boolean {
  const at = image.indexOf('@');
  return at >= 0 && DIGEST.test(image.slice(at + 1));
}

/** docker's words when a tag could not be pinned to a digest (`docker service create/update`). */
export function digestWarning(image: string): string {
  return (
    `image ${image} could not be accessed on a registry to record\n` +
    `its digest. Each node will access ${image} independently,\n` +
    `possibly leading to different nodes running different\n` +
    `versions of the image.`
  );
}

/**
 * True when `stored` is `asked` pinned to a digest by the manager (`busybox` asked,
 * `busybox:latest@sha256:...` stored), or the same reference: what stack deploy counts as
 * no change of image.
 */
export function isPinnedFrom(stored: string, asked: string): boolean {
  if (stored === asked) return true;
  try {
    const s = parseImageRef(stored);
    const a = parseImageRef(asked);
    if (a.digest !== '') return false;
    return s.digest !== '' && s.domain === a.domain && s.path === a.path && (s.tag || 'latest') === a.tag;
  } catch {
    return false;
  }
}

/** The image as `service ls` shows it: a tagged reference without the digest the manager pinned. */
export function withoutPinnedDigest(image: string): string {
  const at = image.indexOf('@');
  if (at < 0) return image;
  const name = image.slice(0, at);
  return name.lastIndexOf(':') > name.lastIndexOf('/') ? name : image;
}
