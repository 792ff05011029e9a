// shoal service lookup: a service's endpoints as discovery serves them.
import { status } from '@grpc/grpc-js';
import type { Endpoint, NetworkAddress } from '../../../proto/gen/shoal.js';
import { ManagerError, UsageError } from '../../errors.js';
import { isoTime, jsonArray, shortId, table } from '../../output.js';
import { formatFlag } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT } from '../list.js';
import { type PortRow, portRow, portsText } from './ports.js';
import { taskName } from './task-name.js';

/** `service lookup --format json`: one endpoint, a task programs can reach. */
export interface EndpointRow {
  /** `web.1` (a global task: `web.<node id prefix>`), as in `service ps`. */
  task: string;
  taskId: string;
  service: string;
  serviceId: string;
  slot: number;
  /** The node's hostname. */
  node: string;
  nodeId: string;
  /** The node's underlay address (where its host-mode ports are). */
  nodeAddress: string;
  /** The task's address on each of its networks. */
  addresses: NetworkAddress[];
  ports: PortRow[];
  /** True when the task has a health check (and it passes); false: no check. */
  healthChecked: boolean;
  registeredAt: string | null;
}

export function endpointRow(e: Endpoint): EndpointRow {
  return {
    task: taskName({ serviceName: e.serviceName, slot: e.slot, nodeId: e.nodeId }),
    taskId: e.taskId,
    service: e.serviceName,
    serviceId: e.serviceId,
    slot: e.slot,
    node: e.nodeName || e.nodeId,
    nodeId: e.nodeId,
    nodeAddress: e.nodeAddress,
    addresses: e.addresses.map((a) => ({ network: a.network, ip: a.ip })),
    ports: e.ports.map(portRow),
    healthChecked: e.healthChecked,
    registeredAt: isoTime(e.registeredAtMs),
  };
}

/** By slot (a global service: by node), then task id. */
export function sortEndpointRows(rows: EndpointRow[]): EndpointRow[] {
  return [...rows].sort((a, b) => a.slot - b.slot || a.node.localeCompare(b.node) || a.taskId.localeCompare(b.taskId));
}

/**
 * Columns `TASK ID NODE IP PORTS HEALTH`: IP is `network=ip` for each network, PORTS as in
 * `service ls` with host-mode ports at the node's address, HEALTH `healthy` (a passing
 * check) or `no check`.
 */
export function endpointTable(rows: readonly EndpointRow[], noTrunc = false): string {
  return table(
    ['TASK', 'ID', 'NODE', 'IP', 'PORTS', 'HEALTH'],
    rows.map((r) => [
      r.task,
      shortId(r.taskId, noTrunc),
      r.node,
      r.addresses.map((a) => `${a.network}=${a.ip}`).join(','),
      portsText(r.ports, r.nodeAddress || 'host'),
      r.healthChecked ? 'healthy' : 'no check',
    ]),
  );
}

export interface LookupOptions {
  service: string;
  format: 'table' | 'json';
}

export const serviceLookup: CommandSpec<LookupOptions> = {
  name: 'service lookup',
  usage: 'shoal service lookup [OPTIONS] SERVICE',
  summary: "List a service's endpoints as discovery serves them (task, node, IP, ports, health)",
  flags: [FORMAT],
  build({ flags, positionals }) {
    if (positionals.length !== 1 || positionals[0] === '') {
      throw new UsageError(
        positionals.length > 1
          ? `service lookup takes exactly one SERVICE, got ${positionals.length}`
          : 'service lookup requires a SERVICE',
      );
    }
    return { service: positionals[0] ?? '', format: formatFlag(flags, ['table', 'json']) };
  },
  /** The endpoints discovery serves for a name; an unknown name is an error (exit 1). */
  async run({ service, format }, ctx) {
    const answer = await ctx.api.lookupService(service);
    // The manager answers NOT_FOUND; an answer saying the name does not exist means the same.
    if (!answer.exists) throw new ManagerError(`no such service: ${service}`, status.NOT_FOUND, false);
    const rows = sortEndpointRows(answer.endpoints.map(endpointRow));
    ctx.out(format === 'json' ? jsonArray(rows) : endpointTable(rows));
    return 0;
  },
};
