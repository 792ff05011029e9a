// How the manager treats a service's image: --resolve-image (always|changed|never: pin the
// tag to a digest) and --with-registry-auth (send the registry credentials docker's
// ~/.docker/config.json holds for the image's registry). Shared by create, update and stacks.
// Placeholder: the flags are added with #13's image work.
import { ResolveImage } from '../../../proto/gen/shoal.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';

/** What a create or update request carries besides the spec. */
export interface ImageRequestOptions {
  resolveImage: ResolveImage;
  /** docker's X-Registry-Auth for the image's registry; '' when not sent. */
  registryAuth: string;
}

export const IMAGE_FLAGS: FlagSpec[] = [];

/** The image options of a create or update, from its flags (reads ~/.docker/config.json when asked). */
export function imageRequestOptions(_flags: FlagValues, _image: string): ImageRequestOptions {
  return { resolveImage: ResolveImage.ALWAYS, registryAuth: '' };
}
