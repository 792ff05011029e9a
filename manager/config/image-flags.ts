// The manager's flags for resolving image tags to digests (manager/images/):
//
//   --insecure-registry HOST:PORT       (repeatable, as dockerd's) a registry spoken to in
//                                       plain HTTP; registries on loopback always are
//   --resolve-image-registries LIST     the registries (and bearer-token servers) the manager
//                                       may contact, comma-separated HOST[:PORT] as in image
//                                       references (docker.io for Docker Hub); `any` (the
//                                       default) or `none`. An image on another registry
//                                       keeps its tag, with docker's warning.
import { ImageResolver } from '../images/resolver.js';

/** Spread into the manager's parseArgs options. */
export const IMAGE_FLAG_OPTIONS = {
  'insecure-registry': { type: 'string', multiple: true },
  'resolve-image-registries': { type: 'string', default: 'any' },
} as const;

export const IMAGE_FLAGS_HELP =
  '                     [--insecure-registry HOST:PORT ...] [--resolve-image-registries any|none|HOST[:PORT],...]\n';

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$/;

export interface ImageFlagValues {
  'insecure-registry'?: string[];
  'resolve-image-registries'?: string;
}

/** The resolver the flags describe (undefined for `none`). Throws one-line errors. */
export function imageResolver(values: ImageFlagValues): ImageResolver | undefined {
  const insecure = (values['insecure-registry'] ?? []).map((h) => h.trim());
  for (const h of insecure)
    if (!HOST_PORT.test(h)) throw new Error(`--insecure-registry must be HOST[:PORT], got "${h}"`);
  const list = (values['resolve-image-registries'] ?? 'any').trim();
  if (list === 'none') return undefined;
  if (list === 'any') return new ImageResolver({ allowed: 'any', insecure });
  const allowed = list
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (allowed.length === 0) throw new Error('--resolve-image-registries needs any, none or HOST[:PORT],...');
  for (const h of allowed)
    if (!HOST_PORT.test(h)) throw new Error(`--resolve-image-registries: "${h}" is not HOST[:PORT]`);
  return new ImageResolver({ allowed, insecure });
}
