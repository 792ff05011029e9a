// Fixtures the CLI's unit tests share: a fixed time, a node, a service spec and a network
// with two leases, as the manager would return them.
import {
  Availability,
  type NetworkDetail,
  type Node,
  NodeStatus,
  ServiceMode,
  ServiceSpec,
} from '../../proto/gen/shoal.js';

export const T0 = Date.parse('2026-01-02T03:04:05.000Z');

/** host1: labelled, drained, ready. */
export const hostNode: Node = {
  id: 'n1aaaaaaaaaaaaaaaaaaaaaaa',
  description: {
    hostname: 'host1',
    resources: { nanoCpus: 2_000_000_000, memoryBytes: 4 * 1024 ** 3 },
    labels: { zone: 'a', disk: 'hdd' },
    engineVersion: '27.3.1',
    os: 'linux',
    arch: 'x86_64',
    address: '10.213.0.11',
  },
  labels: { disk: 'ssd' },
  availability: Availability.DRAIN,
  status: NodeStatus.READY,
  statusMessage: '',
  createdAtMs: T0,
  updatedAtMs: 0,
};

/** web: 3 replicas of busybox with a constraint and reservations. */
export const webSpec: ServiceSpec = {
  ...ServiceSpec.fromPartial({}),
  name: 'web',
  image: 'busybox:latest',
  command: ['sh', '-c', 'sleep 1d'],
  env: ['A=1'],
  labels: { tier: 'front' },
  mode: ServiceMode.REPLICATED,
  replicas: 3,
  constraints: ['node.labels.zone==a'],
  reservations: { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 ** 2 },
  limits: undefined,
  ports: [],
  restart: undefined,
  health: undefined,
  networks: [],
  stopGracePeriodMs: 10_000,
  secrets: [],
  configs: [],
};

/** backend: 10.50.0.0/16 with leases of host1 and another node, used by two services. */
export const backendNetwork: NetworkDetail = {
  network: {
    id: 'netbbbbbbbbbbbbbbbbbbbbbbb',
    spec: { name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db' } },
    vni: 4098,
    hostPrefixLen: 24,
    isDefault: false,
    createdAtMs: T0,
  },
  leases: [
    {
      networkId: 'netb',
      nodeId: 'n2',
      subnet: '10.50.1.0/24',
      nodeAddress: '10.213.0.12',
      vtepMac: '02:00:00:00:00:02',
      createdAtMs: T0,
    },
    {
      networkId: 'netb',
      nodeId: hostNode.id,
      subnet: '10.50.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:01',
      createdAtMs: T0,
    },
  ],
  services: ['web', 'api'],
};
/** Two nodes for a fake cluster: host1 ready and active, host2 down and drained. */
export const NODE1: Node = {
  id: 'node1aaaaaaaaaaaaaaaaaaaa',
  description: {
    hostname: 'host1',
    resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 },
    labels: { zone: 'a' },
    engineVersion: '27.3.1',
    os: 'linux',
    arch: 'x86_64',
    address: '10.213.0.11',
  },
  labels: { ssd: 'true' },
  availability: Availability.ACTIVE,
  status: NodeStatus.READY,
  statusMessage: '',
  createdAtMs: 1,
  updatedAtMs: 2,
};
export const NODE2: Node = {
  ...NODE1,
  id: 'node2bbbbbbbbbbbbbbbbbbbb',
  description: { ...NODE1.description!, hostname: 'host2', address: '10.213.0.12' },
  availability: Availability.DRAIN,
  status: NodeStatus.DOWN,
};
