// Service keys Swarm does not use, in docker's three lists (cli/compose/convert and
// loader): ignored with a warning, deprecated with a warning, refused with an error.
// `depends_on` is ignored silently, as docker does.

/** `Ignoring unsupported options: build, links` */
export const IGNORED_KEYS = [
  'build',
  'cgroup_parent',
  'devices',
  'domainname',
  'external_links',
  'ipc',
  'links',
  'mac_address',
  'network_mode',
  'pid',
  'privileged',
  'restart',
  'security_opt',
  'shm_size',
  'userns_mode',
];

/** `Ignoring deprecated options: container_name, expose` */
export const DEPRECATED_KEYS = ['container_name', 'expose'];

/** `compose file contains unsupported options: extends (services.web)` */
export const REFUSED_KEYS = [
  'extends',
  'volume_driver',
  'volumes_from',
  'cpu_quota',
  'cpu_shares',
  'cpuset',
  'mem_limit',
  'memswap_limit',
];

export interface KeyFindings {
  ignored: string[];
  deprecated: string[];
  /** `key (services.NAME)` */
  refused: string[];
}

/** What one file's services use of the three lists. */
export function serviceKeys(services: Record<string, Record<string, unknown>>): KeyFindings {
  const found: KeyFindings = { ignored: [], deprecated: [], refused: [] };
  for (const [name, service] of Object.entries(services)) {
    for (const key of Object.keys(service ?? {})) {
      if (IGNORED_KEYS.includes(key)) found.ignored.push(key);
      if (DEPRECATED_KEYS.includes(key)) found.deprecated.push(key);
      if (REFUSED_KEYS.includes(key)) found.refused.push(`${key} (services.${name})`);
    }
  }
  return found;
}

/** Sorted, each once. */
export function uniqueSorted(keys: readonly string[]): string[] {
  return [...new Set(keys)].sort();
}
