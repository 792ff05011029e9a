// What the manager does to a service's image when the service is created or updated: resolve
// the tag to a digest (--resolve-image always|changed|never), so that every task of a version
// runs the same bits, and keep the registry credentials sent with --with-registry-auth.
// Placeholder: the resolution is added with #13's image work; today the image is kept as given.
import { ResolveImage, type ServiceSpec } from '../../proto/gen/shoal.js';

export interface PinRequest {
  spec: ServiceSpec;
  resolveImage: ResolveImage;
  /** docker's X-Registry-Auth, '' when none was sent. */
  registryAuth: string;
  /** The spec the service runs now (updates only): `changed` resolves only when the image differs. */
  previous?: ServiceSpec;
}

/** The spec to store (its image pinned to a digest when asked and possible). */
export async function pinImage(req: PinRequest): Promise<ServiceSpec> {
  if (req.resolveImage === ResolveImage.NEVER) return req.spec;
  return req.spec;
}
