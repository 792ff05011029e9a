// The endpoint catalog's content at one revision: per service name an Entry (the
// service's networks and ports, its endpoints, the revision of its last change), built
// from the endpoint, service and network keys, one key change at a time. The catalog
// (catalog.ts) builds one per load and applies each watch batch to the current one.
import {
  Endpoint,
  Network,
  type NetworkAliases,
  Service,
  type PortConfig,
  type ServiceEndpoints,
} from '../../proto/gen/shoal.js';
import { DEFAULT_NETWORK_NAME } from '../allocator/allocator.js';
import { ENDPOINTS_PREFIX, prefix } from '../store/keys.js';
import type { KeyChange } from '../store/store.js';

export const SERVICES_PREFIX = prefix('services');
export const NETWORKS_PREFIX = prefix('networks');

export interface ServiceInfo {
  id: string;
  /** spec.networks as stored (empty: the default network) */
  specNetworks: string[];
  ports: PortConfig[];
  /** spec.network_aliases: extra names of this service on one of its networks (stacks). */
  aliases: NetworkAliases[];
}

/** One service an alias names, on one network. */
export interface AliasTarget {
  service: string;
  network: string;
}

export interface Entry {
  name: string;
  service?: ServiceInfo;
  endpoints: Map<string, { endpoint: Endpoint; raw: string }>; // by task id
  index: number;
  cached?: ServiceEndpoints;
}

export interface ContentHooks {
  log(line: string): void;
  /** An endpoint key was put for the first time, or deleted (only for live changes, not loads). */
  emit(type: 'registered' | 'deregistered', endpoint: Endpoint): void;
}

export class CatalogContents {
  readonly entries = new Map<string, Entry>();
  readonly serviceNameById = new Map<string, string>();
  readonly networks = new Map<string, { name: string; isDefault: boolean }>();
  defaultNetwork = DEFAULT_NETWORK_NAME;
  /** The revision of the last change to any service's aliases (an alias's index is never below it). */
  aliasRevision = 0;

  constructor(private readonly hooks: ContentHooks) {}

  entry(name: string): Entry {
    let e = this.entries.get(name);
    if (!e) this.entries.set(name, (e = { name, endpoints: new Map(), index: 0 }));
    return e;
  }

  /** Returns the name when something changed. */
  putEndpoint(kv: KeyChange, live: boolean): string | undefined {
    const parsed = parseEndpointKey(kv.key);
    if (!parsed) return undefined;
    const e = this.entry(parsed.name);
    const prev = e.endpoints.get(parsed.taskId);
    if (prev && prev.raw === kv.value) return undefined; // the same endpoint put again (a new leader's lease)
    let endpoint: Endpoint;
    try {
      endpoint = Endpoint.fromJSON(JSON.parse(kv.value!));
    } catch (err) {
      this.hooks.log(`endpoint catalog: cannot decode ${kv.key}: ${(err as Error).message}`);
      return undefined;
    }
    e.endpoints.set(parsed.taskId, { endpoint, raw: kv.value! });
    e.index = Math.max(e.index, kv.revision);
    e.cached = undefined;
    if (live && !prev) this.hooks.emit('registered', endpoint);
    return parsed.name;
  }

  deleteEndpoint(kv: KeyChange): string | undefined {
    const parsed = parseEndpointKey(kv.key);
    if (!parsed) return undefined;
    const e = this.entries.get(parsed.name);
    const prev = e?.endpoints.get(parsed.taskId);
    if (!e || !prev) return undefined;
    e.endpoints.delete(parsed.taskId);
    e.index = Math.max(e.index, kv.revision);
    e.cached = undefined;
    this.hooks.emit('deregistered', prev.endpoint);
    return parsed.name;
  }

  /** Returns the names whose answer changed (`existence`: the set of names changed). */
  putService(kv: KeyChange): { names: string[]; existence: boolean } | undefined {
    let service: Service;
    try {
      service = Service.fromJSON(JSON.parse(kv.value!));
    } catch (err) {
      this.hooks.log(`endpoint catalog: cannot decode ${kv.key}: ${(err as Error).message}`);
      return undefined;
    }
    const name = service.spec?.name;
    if (!name) return undefined;
    const id = kv.key.slice(SERVICES_PREFIX.length);
    const oldName = this.serviceNameById.get(id);
    this.serviceNameById.set(id, name);
    const info: ServiceInfo = {
      id,
      specNetworks: service.spec?.networks ?? [],
      ports: service.spec?.ports ?? [],
      aliases: service.spec?.networkAliases ?? [],
    };
    const e = this.entry(name);
    const before = e.service;
    if (before && before.id === id && sameServiceInfo(before, info)) return undefined; // e.g. a scale: nothing discovery shows
    const aliasNames = [...aliasesOf(before), ...aliasesOf(info)];
    if (aliasNames.length > 0) this.aliasRevision = Math.max(this.aliasRevision, kv.revision);
    e.service = info;
    e.index = Math.max(e.index, kv.revision);
    e.cached = undefined;
    const names = [name, ...new Set(aliasNames)];
    if (oldName !== undefined && oldName !== name) {
      // Renamed (shoal does not rename services, but a key is a key).
      const o = this.entries.get(oldName);
      if (o?.service?.id === id) {
        o.service = undefined;
        o.index = Math.max(o.index, kv.revision);
        o.cached = undefined;
        names.push(oldName);
      }
    }
    return { names, existence: before === undefined || before.id !== id || names.length > 1 };
  }

  deleteService(kv: KeyChange): { names: string[]; existence: boolean } | undefined {
    const id = kv.key.slice(SERVICES_PREFIX.length);
    const name = this.serviceNameById.get(id);
    if (name === undefined) return undefined;
    this.serviceNameById.delete(id);
    const e = this.entries.get(name);
    if (!e?.service || e.service.id !== id) return undefined;
    const aliasNames = aliasesOf(e.service);
    if (aliasNames.length > 0) this.aliasRevision = Math.max(this.aliasRevision, kv.revision);
    e.service = undefined;
    e.index = Math.max(e.index, kv.revision);
    e.cached = undefined;
    return { names: [name, ...new Set(aliasNames)], existence: true };
  }

  putNetwork(k: string, value: string): void {
    try {
      const n = Network.fromJSON(JSON.parse(value));
      this.networks.set(k.slice(NETWORKS_PREFIX.length), { name: n.spec?.name ?? '', isDefault: n.isDefault });
      this.defaultNetwork = defaultNetworkName(this.networks);
    } catch (err) {
      this.hooks.log(`endpoint catalog: cannot decode ${k}: ${(err as Error).message}`);
    }
  }

  networksOf(s: ServiceInfo): string[] {
    return s.specNetworks.length > 0 ? s.specNetworks : [this.defaultNetwork];
  }

  /** A network key changed: the names of services on the default network when its name changed. */
  networkChanged(kv: KeyChange): string[] {
    const before = this.defaultNetwork;
    if (kv.value === undefined) this.networks.delete(kv.key.slice(NETWORKS_PREFIX.length));
    else this.putNetwork(kv.key, kv.value);
    this.defaultNetwork = defaultNetworkName(this.networks);
    if (before === this.defaultNetwork) return [];
    const changed: string[] = [];
    for (const e of this.entries.values()) {
      if (e.service && e.service.specNetworks.length === 0) {
        e.index = kv.revision;
        changed.push(e.name);
      }
    }
    return changed;
  }

  /** Service names and the aliases of services (each once), sorted: the cluster's DNS names. */
  serviceNames(): string[] {
    const names = new Set<string>();
    for (const e of this.entries.values()) {
      if (!e.service) continue;
      names.add(e.name);
      for (const a of aliasesOf(e.service)) names.add(a);
    }
    return [...names].sort();
  }

  /** The services (and networks) `alias` names; empty when a service has that name itself. */
  aliasTargets(alias: string): AliasTarget[] {
    if (this.entries.get(alias)?.service) return [];
    const out: AliasTarget[] = [];
    for (const e of this.entries.values()) {
      for (const na of e.service?.aliases ?? []) {
        if (na.aliases.includes(alias)) out.push({ service: e.name, network: na.network });
      }
    }
    return out;
  }

  /** The aliases of the service named `name` (to wake their watchers when it changes). */
  aliasNamesOf(name: string): string[] {
    return aliasesOf(this.entries.get(name)?.service);
  }
}

/** "/shoal/v1/endpoints/web/t1" -> {name: "web", taskId: "t1"} */
export function parseEndpointKey(k: string): { name: string; taskId: string } | undefined {
  if (!k.startsWith(ENDPOINTS_PREFIX)) return undefined;
  const rest = k.slice(ENDPOINTS_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { name: rest.slice(0, slash), taskId: rest.slice(slash + 1) };
}

function defaultNetworkName(networks: Map<string, { name: string; isDefault: boolean }>): string {
  for (const n of networks.values()) if (n.isDefault && n.name) return n.name;
  return DEFAULT_NETWORK_NAME;
}

function aliasesOf(s: ServiceInfo | undefined): string[] {
  return (s?.aliases ?? []).flatMap((na) => na.aliases);
}

function sameServiceInfo(a: ServiceInfo, b: ServiceInfo): boolean {
  return (
    a.specNetworks.join(',') === b.specNetworks.join(',') &&
    JSON.stringify(a.ports) === JSON.stringify(b.ports) &&
    JSON.stringify(a.aliases) === JSON.stringify(b.aliases)
  );
}

export function sameEntry(a: Entry, b: Entry, defA: string, defB: string): boolean {
  if ((a.service === undefined) !== (b.service === undefined)) return false;
  if (a.service && b.service) {
    if (a.service.id !== b.service.id || !sameServiceInfo(a.service, b.service)) return false;
    if (a.service.specNetworks.length === 0 && defA !== defB) return false;
  }
  if (a.endpoints.size !== b.endpoints.size) return false;
  for (const [taskId, x] of a.endpoints) if (b.endpoints.get(taskId)?.raw !== x.raw) return false;
  return true;
}
