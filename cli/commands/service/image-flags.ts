// How the manager treats a service's image: --resolve-image (always|changed|never: pin the
// tag to a digest) and --with-registry-auth (send the registry credentials docker's
// ~/.docker/config.json holds for the image's registry). Shared by create, update and stacks.
//
// Credentials are read as docker's CLI reads them: $DOCKER_CONFIG/config.json (default
// ~/.docker/config.json), `auths[<registry>].auth` (base64 of user:password), the key being
// the registry as written at `docker login` (`10.213.0.1:5001`, `http://...`; Docker Hub's
// `https://index.docker.io/v1/`). Credential helpers (credsStore, credHelpers) are not run:
// a registry only they know is an error saying so.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ResolveImage } from '../../../proto/gen/shoal.js';
import { digestWarning, DOCKER_HUB, hasDigest, registryOf } from '../../../proto/image-ref.js';
import { encodeRegistryAuth, registryHost } from '../../../proto/registry-auth.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';

/** What a create or update request carries besides the spec. */
export interface ImageRequestOptions {
  resolveImage: ResolveImage;
  /** docker's X-Registry-Auth for the image's registry; '' when not sent. */
  registryAuth: string;
}

export const RESOLVE_IMAGE: FlagSpec = {
  long: 'resolve-image',
  type: 'string',
  value: 'MODE',
  help: 'Pin the image tag to a digest: always (default), changed or never',
};
export const WITH_REGISTRY_AUTH: FlagSpec = {
  long: 'with-registry-auth',
  type: 'boolean',
  help: "Send the image registry's credentials (docker's config.json) to the nodes that pull it",
};

export const IMAGE_FLAGS: FlagSpec[] = [RESOLVE_IMAGE, WITH_REGISTRY_AUTH];

const MODES: Record<string, ResolveImage> = {
  always: ResolveImage.ALWAYS,
  changed: ResolveImage.CHANGED,
  never: ResolveImage.NEVER,
};

/** The image options of a create or update, from its flags (reads ~/.docker/config.json when asked). */
export function imageRequestOptions(
  flags: FlagValues,
  image: string,
  env: NodeJS.ProcessEnv = process.env,
): ImageRequestOptions {
  const text = flags.string(RESOLVE_IMAGE.long) ?? 'always';
  const resolveImage = MODES[text];
  if (resolveImage === undefined)
    throw new UsageError(`invalid --resolve-image "${text}": expected always, changed or never`);
  const registryAuth = flags.bool(WITH_REGISTRY_AUTH.long) ? registryAuthFor(image, env) : '';
  return { resolveImage, registryAuth };
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** docker's config directory: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || homedir(), '.docker');
}

/**
 * docker's X-Registry-Auth for `image`'s registry from config.json; '' when the file or the
 * registry's entry is missing (docker then pulls anonymously). Throws UsageError when the
 * file does not parse or only a credential helper knows the registry.
 */
export function registryAuthFor(image: string, env: NodeJS.ProcessEnv = process.env): string {
  const registry = registryOf(image);
  if (registry === undefined) return ''; // the manager refuses the image with its own message
  const file = path.join(dockerConfigDir(env), 'config.json');
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as DockerConfig;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    throw new UsageError(`--with-registry-auth: cannot read ${file}: ${code ?? (err as Error).message}`);
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => registryHost(key) === registry)?.[1];
  let username = entry?.username ?? '';
  let password = entry?.password ?? '';
  if (entry?.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0) throw new UsageError(`--with-registry-auth: ${file}: the auth of ${registry} is not user:password`);
    username = plain.slice(0, colon);
    password = plain.slice(colon + 1);
  }
  const identitytoken = entry?.identitytoken ?? '';
  if (username === '' && identitytoken === '') {
    const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => registryHost(key) === registry)?.[1];
    if (helper ?? config.credsStore) {
      throw new UsageError(
        `--with-registry-auth: the credentials of ${registry} are in a credential helper (docker-credential-${helper ?? config.credsStore}), which shoal does not run`,
      );
    }
    return '';
  }
  const serveraddress = registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
  return encodeRegistryAuth({ username, password, serveraddress, ...(identitytoken ? { identitytoken } : {}) });
}

/**
 * docker's warning when the manager could not pin `sent` to a digest (the stored image has
 * none); undefined when it did, when the image had a digest already, or with `never`.
 * `service update` with `changed` calls it only when --image was given.
 */
export function unpinnedWarning(sent: string, stored: string, resolveImage: ResolveImage): string | undefined {
  if (resolveImage === ResolveImage.NEVER || hasDigest(sent) || hasDigest(stored)) return undefined;
  return digestWarning(sent);
}
