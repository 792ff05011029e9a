// What the manager does to a service's image when the service is created or updated: resolve
// the tag to a digest (--resolve-image always|changed|never), so that every task of a version
// runs the same bits even if the tag moves during a deploy. As Swarm: an image that already
// has a digest is kept; one that cannot be resolved (registry unreachable or not allowed,
// unknown tag, no credentials) keeps its tag, with a warning in the manager's log; the CLI
// sees the returned image has no digest and prints docker's warning.
//
//   always  resolve (the default)
//   changed resolve only when the image differs from the spec the service runs (`previous`)
//   never   keep the image as given
//
// Which registries may be contacted comes from the manager's flags (configureImageResolution,
// called once at start); a process that never configured it (unit tests) contacts none.
import { ResolveImage, type ServiceSpec } from '../../proto/gen/shoal.js';
import type { ImageResolver } from './resolver.js';
import { invalidArgument } from '../errors.js';
import { checkRegistryAuth } from './credentials.js';

export interface PinRequest {
  spec: ServiceSpec;
  resolveImage: ResolveImage;
  /** docker's X-Registry-Auth, '' when none was sent. */
  registryAuth: string;
  /** The spec the service runs now (updates only): `changed` resolves only when the image differs. */
  previous?: ServiceSpec;
  /** Tests: this resolver instead of the configured one. */
  resolver?: ImageResolver;
}

let configured: { resolver: ImageResolver; log: (line: string) => void } | undefined;

/** The manager's resolver (from its flags) and where warnings go; called once at start. */
export function configureImageResolution(resolver: ImageResolver | undefined, log: (line: string) => void): void {
  configured = resolver && { resolver, log };
}

/** The spec to store (its image pinned to a digest when asked and possible). */
export async function pinImage(req: PinRequest): Promise<ServiceSpec> {
  const { spec } = req;
  if (req.resolveImage === ResolveImage.NEVER) return spec;
  if (req.resolveImage === ResolveImage.CHANGED && req.previous !== undefined && req.previous.image === spec.image)
    return spec;
  const resolver = req.resolver ?? configured?.resolver;
  if (resolver === undefined) return spec;
  try {
    const image = await resolver.pin(spec.image, req.registryAuth);
    return image === spec.image ? spec : { ...spec, image };
  } catch (err) {
    const log = configured?.log ?? (() => {});
    log(
      `images: service ${spec.name}: cannot pin ${spec.image} to a digest, keeping the tag: ${(err as Error).message}`,
    );
    return spec;
  }
}

/** CreateService's hook: checks the request's image options and returns the spec to store. */
export async function pinnedSpec(
  spec: ServiceSpec,
  req: { resolveImage?: ResolveImage; registryAuth?: string },
): Promise<ServiceSpec> {
  const resolveImage = req.resolveImage ?? ResolveImage.ALWAYS;
  checkImageRequest(resolveImage, req.registryAuth ?? '');
  return pinImage({ spec, resolveImage, registryAuth: req.registryAuth ?? '' });
}

/** Refuses an unknown resolve_image or a malformed registry_auth (INVALID_ARGUMENT, one line). */
export function checkImageRequest(resolveImage: ResolveImage, registryAuth: string): void {
  if (![ResolveImage.ALWAYS, ResolveImage.CHANGED, ResolveImage.NEVER].includes(resolveImage))
    throw invalidArgument(`invalid resolve_image ${String(resolveImage)}: expected always, changed or never`);
  checkRegistryAuth(registryAuth);
}
