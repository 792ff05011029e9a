// What the fake Control service stores as a created service's image: pinned to a (fake)
// digest as the manager pins it (`NAME:TAG@sha256:...`), unless --resolve-image never or the
// image has a digest already; so the CLI prints no digest warning against the fake.
import { createHash } from 'node:crypto';
import { type CreateServiceRequest, ResolveImage } from '../../proto/gen/shoal.js';

export function fakePin(image: string): string {
  if (image.includes('@')) return image;
  const tagged = /:[\w][\w.-]*$/.test(image.slice(image.lastIndexOf('/') + 1)) ? image : `${image}:latest`;
  return `${tagged}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** The image a CreateService request's spec is stored with. */
export function pinnedLikeManager(req: Pick<CreateServiceRequest, 'spec' | 'resolveImage'>): string {
  const image = req.spec?.image ?? '';
  return req.resolveImage === ResolveImage.NEVER ? image : fakePin(image);
}
