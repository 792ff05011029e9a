// What discovery consumers (the dispatcher's Endpoints stream, Control LookupService, the
// Consul-shaped HTTP API) read: every manager's watch-fed catalog of endpoints, per
// service name. Implemented by EndpointCatalog (catalog.ts); faked in unit tests.
import type { ServiceEndpoints } from '../../proto/gen/shoal.js';

export interface EndpointView {
  /** True once the catalog holds a consistent snapshot (before that, answers would be empty). */
  readonly loaded: boolean;
  /** The highest etcd revision the catalog has applied (Consul's X-Consul-Index for lists). */
  readonly index: number;
  /** The name's current endpoints; `exists` false (and index = the catalog's) when no service has it. */
  lookup(name: string): ServiceEndpoints;
  /** Every service name, sorted. */
  serviceNames(): string[];
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

/** Where endpoints are stored: /shoal/v1/endpoints/<service name>/<task id>. */
export const ENDPOINTS_PREFIX = '/shoal/v1/endpoints/';
export function endpointKey(serviceName: string, taskId: string): string {
  return `${ENDPOINTS_PREFIX}${serviceName}/${taskId}`;
}
