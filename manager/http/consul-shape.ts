// ServiceEndpoints -> the JSON Consul's HTTP API answers, for /v1/health/service/<name> and
// /v1/catalog/service/<name>. Pure functions: no I/O, no clock.
import type { Endpoint, ServiceEndpoints } from '../../proto/gen/shoal.js';

/** Every shoal cluster is one Consul datacenter. */
export const DATACENTER = 'shoal';

export interface ConsulNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

export interface ConsulTaggedAddress {
  Address: string;
  Port: number;
}

export interface ConsulService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  TaggedAddresses: Record<string, ConsulTaggedAddress>;
}

export interface ConsulCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: 'passing' | 'warning' | 'critical';
  ServiceID: string;
  ServiceName: string;
  Output?: string;
}

export interface ConsulHealthEntry {
  Node: ConsulNode;
  Service: ConsulService;
  Checks: ConsulCheck[];
}

export interface ConsulCatalogEntry {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  NodeMeta: Record<string, string>;
  ServiceID: string;
  ServiceName: string;
  ServiceAddress: string;
  ServicePort: number;
  ServiceTags: string[];
  ServiceMeta: Record<string, string>;
  ServiceTaggedAddresses: Record<string, ConsulTaggedAddress>;
}

/** Node name, then task id: the same endpoints always come out in the same order. */
export function sortedEndpoints(se: ServiceEndpoints): Endpoint[] {
  return [...se.endpoints].sort(
    (a, b) => compare(a.nodeName, b.nodeName) || compare(a.nodeId, b.nodeId) || compare(a.taskId, b.taskId),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The task's IP on the first of the service's networks it has an address on ("" if none). */
export function serviceAddress(se: ServiceEndpoints, ep: Endpoint): string {
  for (const network of se.networks) {
    const a = ep.addresses.find((x) => x.network === network);
    if (a) return a.ip;
  }
  return '';
}

/** The first target port (the endpoint's copy of the service's ports, else the service's), 0 if none. */
export function servicePort(se: ServiceEndpoints, ep: Endpoint): number {
  return (ep.ports[0] ?? se.ports[0])?.targetPort ?? 0;
}

function taggedAddresses(ep: Endpoint, port: number): Record<string, ConsulTaggedAddress> {
  const out: Record<string, ConsulTaggedAddress> = {};
  for (const a of ep.addresses) out[a.network] = { Address: a.ip, Port: port };
  return out;
}

function meta(ep: Endpoint): Record<string, string> {
  return { task: ep.taskId, slot: String(ep.slot), node_id: ep.nodeId };
}

function checks(name: string, ep: Endpoint): ConsulCheck[] {
  const out: ConsulCheck[] = [
    {
      Node: ep.nodeName,
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: 'passing',
      ServiceID: '',
      ServiceName: '',
    },
  ];
  if (ep.healthChecked) {
    out.push({
      Node: ep.nodeName,
      CheckID: `service:${ep.taskId}`,
      Name: `Service '${name}' check`,
      Status: 'passing',
      ServiceID: ep.taskId,
      ServiceName: name,
      Output: 'docker health check passing',
    });
  }
  return out;
}

/** /v1/health/service/<name>: one entry per endpoint (none for an unknown name). */
export function healthEntries(se: ServiceEndpoints): ConsulHealthEntry[] {
  return sortedEndpoints(se).map((ep) => {
    const port = servicePort(se, ep);
    return {
      Node: {
        ID: ep.nodeId,
        Node: ep.nodeName,
        Address: ep.nodeAddress,
        Datacenter: DATACENTER,
        TaggedAddresses: {},
        Meta: {},
      },
      Service: {
        ID: ep.taskId,
        Service: se.name,
        Tags: [],
        Address: serviceAddress(se, ep),
        Port: port,
        Meta: meta(ep),
        TaggedAddresses: taggedAddresses(ep, port),
      },
      Checks: checks(se.name, ep),
    };
  });
}

/** Consul's `?passing`: only entries whose every check passes. */
export function onlyPassing(entries: ConsulHealthEntry[]): ConsulHealthEntry[] {
  return entries.filter((e) => e.Checks.every((c) => c.Status === 'passing'));
}

/** /v1/catalog/service/<name>: Consul's flat shape, every registered endpoint. */
export function catalogEntries(se: ServiceEndpoints): ConsulCatalogEntry[] {
  return sortedEndpoints(se).map((ep) => {
    const port = servicePort(se, ep);
    return {
      ID: ep.nodeId,
      Node: ep.nodeName,
      Address: ep.nodeAddress,
      Datacenter: DATACENTER,
      TaggedAddresses: {},
      NodeMeta: {},
      ServiceID: ep.taskId,
      ServiceName: se.name,
      ServiceAddress: serviceAddress(se, ep),
      ServicePort: port,
      ServiceTags: [],
      ServiceMeta: meta(ep),
      ServiceTaggedAddresses: taggedAddresses(ep, port),
    };
  });
}
