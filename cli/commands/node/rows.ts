// A Node message as `node ls --format json` and `node inspect` print it. Pure.
import { Availability, type Node, NodeStatus } from '../../../proto/gen/shoal.js';
import { isoTime } from '../../output.js';

export interface NodeRow {
  id: string;
  hostname: string;
  status: 'ready' | 'down' | 'unknown';
  statusMessage: string;
  availability: 'active' | 'pause' | 'drain';
  /** User labels merged over engine labels (what constraints on node.labels see). */
  labels: Record<string, string>;
  engineLabels: Record<string, string>;
  userLabels: Record<string, string>;
  engineVersion: string;
  os: string;
  arch: string;
  address: string;
  cpus: number;
  memoryBytes: number;
  createdAt: string | null;
  updatedAt: string | null;
}

function nodeStatusName(s: NodeStatus): NodeRow['status'] {
  return s === NodeStatus.READY ? 'ready' : s === NodeStatus.DOWN ? 'down' : 'unknown';
}

function availabilityName(a: Availability): NodeRow['availability'] {
  return a === Availability.PAUSE ? 'pause' : a === Availability.DRAIN ? 'drain' : 'active';
}

export function nodeRow(node: Node): NodeRow {
  const d = node.description;
  const engineLabels = { ...(d?.labels ?? {}) };
  const userLabels = { ...node.labels };
  return {
    id: node.id,
    hostname: d?.hostname ?? '',
    status: nodeStatusName(node.status),
    statusMessage: node.statusMessage,
    availability: availabilityName(node.availability),
    labels: { ...engineLabels, ...userLabels },
    engineLabels,
    userLabels,
    engineVersion: d?.engineVersion ?? '',
    os: d?.os ?? '',
    arch: d?.arch ?? '',
    address: d?.address ?? '',
    cpus: (d?.resources?.nanoCpus ?? 0) / 1e9,
    memoryBytes: d?.resources?.memoryBytes ?? 0,
    createdAt: isoTime(node.createdAtMs),
    updatedAt: isoTime(node.updatedAtMs),
  };
}
