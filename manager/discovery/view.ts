// What discovery consumers (the dispatcher's Endpoints stream, Control LookupService, the
// Consul-shaped HTTP API) read: every manager's watch-fed catalog of endpoints, per
// service name. Implemented by EndpointCatalog (catalog.ts); faked in unit tests.
import type { ServiceEndpoints } from '../../proto/gen/shoal.js';
import { ENDPOINTS_PREFIX, endpointId, key } from '../store/keys.js';

export interface EndpointView {
  /** True once the catalog holds a consistent snapshot (before that, answers would be empty). */
  readonly loaded: boolean;
  /** The highest etcd revision the catalog has applied (Consul's X-Consul-Index for lists). */
  readonly index: number;
  /**
   * The name's current endpoints; `exists` false when no service has it. `index` is the
   * etcd revision of the name's last change, at least 1 (a name never seen: the revision
   * the catalog was loaded at), so a blocking query on it wakes only when it changes.
   */
  lookup(name: string): ServiceEndpoints;
  /** Every service name, sorted. */
  serviceNames(): string[];
  /**
   * Whether the name's service publishes a port on the routing mesh: the same as
   * hasIngressPorts(lookup(name)) without building the endpoint list (O(ports), not
   * O(endpoints)). Optional: without it, lookup is used.
   */
  publishesIngress?(name: string): boolean;
  /**
   * Blocking query: resolves with lookup(name) once its index is greater than `index`, or
   * when `timeoutMs` passes (then with the unchanged answer). `index` 0 answers at once.
   */
  waitFor(name: string, index: number, timeoutMs: number): Promise<ServiceEndpoints>;
  /** Blocking query over the set of names (catalog/services). */
  waitForNames(index: number, timeoutMs: number): Promise<{ index: number; names: string[] }>;
  /** Called with the service name after every applied change of it (endpoints or the service). */
  onChange(listener: (name: string) => void): () => void;
}

/** Where endpoints are stored: /shoal/v1/endpoints/<service name>/<task id> (built in store/keys.ts). */
export { ENDPOINTS_PREFIX };
export function endpointKey(serviceName: string, taskId: string): string {
  return key('endpoints', endpointId(serviceName, taskId));
}
