import test from 'ava';
import {
  endpointRow,
  endpointTable,
  eventLine,
  eventRow,
  jsonArray,
  portRow,
  portsText,
  managerRow,
  managerTable,
  networkInspectRow,
  networkRow,
  networkTable,
  nodeRow,
  nodeTable,
  serviceRow,
  serviceTable,
  sortManagerRows,
  sortNetworkRows,
  sortTaskRows,
  table,
  taskRow,
  taskTable,
} from '../../../cli/format.js';
import {
  Availability,
  type Event,
  type NetworkDetail,
  type Node,
  NodeStatus,
  PublishMode,
  RestartCondition,
  type Service,
  ServiceMode,
  type ServiceSpec,
  type Task,
  TaskState,
} from '../../../proto/gen/shoal.js';

const T0 = Date.parse('2026-01-02T03:04:05.000Z');

const spec: ServiceSpec = {
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
};

const node: Node = {
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

function task(over: Partial<Task> & { state?: TaskState; err?: string; at?: number }): Task {
  const { state = TaskState.RUNNING, err = '', at = T0, ...rest } = over;
  return {
    id: 't1bbbbbbbbbbbbbbbbbbbbbbb',
    serviceId: 's1cccccccccccccccccccccccc',
    serviceName: 'web',
    slot: 1,
    nodeId: node.id,
    spec,
    specVersion: 1,
    desiredState: TaskState.RUNNING,
    status: { state, message: 'started', err, containerId: 'c0ffee', exitCode: 0, timestampMs: at, addresses: [] },
    createdAtMs: T0 - 1000,
    ...rest,
    restartHistoryMs: rest.restartHistoryMs ?? [],
  };
}

test('nodeRow: lower-case enums, user labels over engine labels, cpus in CPUs', (t) => {
  const row = nodeRow(node);
  t.like(row, {
    id: node.id,
    hostname: 'host1',
    status: 'ready',
    availability: 'drain',
    engineVersion: '27.3.1',
    address: '10.213.0.11',
    cpus: 2,
    memoryBytes: 4 * 1024 ** 3,
    createdAt: '2026-01-02T03:04:05.000Z',
    updatedAt: null,
  });
  t.deepEqual(row.labels, { zone: 'a', disk: 'ssd' });
  t.deepEqual(row.engineLabels, { zone: 'a', disk: 'hdd' });
  t.deepEqual(row.userLabels, { disk: 'ssd' });
  t.like(nodeRow({ ...node, status: NodeStatus.DOWN, availability: Availability.PAUSE }), {
    status: 'down',
    availability: 'pause',
  });
  t.like(nodeRow({ ...node, status: NodeStatus.UNKNOWN, description: undefined }), {
    status: 'unknown',
    hostname: '',
    cpus: 0,
  });
});

test('nodeTable: docker columns and capitalisation', (t) => {
  const lines = nodeTable([nodeRow(node)]).split('\n');
  t.regex(lines[0] ?? '', /^ID +HOSTNAME +STATUS +AVAILABILITY +ENGINE VERSION$/);
  t.regex(lines[1] ?? '', /^n1a+ +host1 +Ready +Drain +27\.3\.1$/);
});

test('serviceRow: desired and running from the status', (t) => {
  const service: Service = { id: 's1cccccccccccccccccccccccc', spec, specVersion: 2, createdAtMs: T0, updatedAtMs: T0 };
  const row = serviceRow(service, { desired: 3, running: 2, stopping: 1, pendingReason: '' });
  t.like(row, {
    id: service.id,
    name: 'web',
    mode: 'replicated',
    replicas: 3,
    running: 2,
    desired: 3,
    stopping: 1,
    image: 'busybox:latest',
    stopGracePeriodMs: 10_000,
  });
  t.deepEqual(row.command, ['sh', '-c', 'sleep 1d']);
  t.deepEqual(row.constraints, ['node.labels.zone==a']);
  t.deepEqual(row.reservations, { cpus: 0.5, memoryBytes: 64 * 1024 ** 2 });
  t.is(row.limits, null);
  t.is(row.restart, null);
  t.is(row.health, null);
  // no status: the spec's replicas, nothing running
  t.like(serviceRow(service, undefined), { replicas: 3, desired: 3, running: 0 });
  const global = serviceRow(
    { ...service, spec: { ...spec, mode: ServiceMode.GLOBAL, replicas: 0 } },
    {
      desired: 4,
      running: 4,
      stopping: 0,
      pendingReason: '',
    },
  );
  t.like(global, { mode: 'global', replicas: 4 });

  const lines = serviceTable([row]).split('\n');
  t.regex(lines[0] ?? '', /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  t.regex(lines[1] ?? '', /^s1cccccccccc +web +replicated +2\/3 +busybox:latest$/);
  t.regex(serviceTable([row], true).split('\n')[1] ?? '', /^s1c{24} /);
});

test('serviceRow: restart policy and health check; unset grace period is null', (t) => {
  const service: Service = {
    id: 's1',
    spec: {
      ...spec,
      stopGracePeriodMs: undefined,
      restart: { condition: RestartCondition.ON_FAILURE, delayMs: 0, maxAttempts: 3, windowMs: 60_000 },
      health: { test: ['CMD-SHELL', 'true'], intervalMs: 2000, timeoutMs: 0, retries: 5, startPeriodMs: 0 },
    },
    specVersion: 1,
    createdAtMs: T0,
    updatedAtMs: T0,
  };
  const row = serviceRow(service, undefined);
  t.is(row.stopGracePeriodMs, null);
  t.deepEqual(row.restart, { condition: 'on-failure', delayMs: 0, maxAttempts: 3, windowMs: 60_000 });
  t.deepEqual(row.health, {
    test: ['CMD-SHELL', 'true'],
    intervalMs: 2000,
    timeoutMs: 0,
    retries: 5,
    startPeriodMs: 0,
  });
  const defaults = serviceRow(
    {
      ...service,
      spec: { ...spec, restart: { condition: RestartCondition.NONE, delayMs: undefined, maxAttempts: 0, windowMs: 0 } },
    },
    undefined,
  );
  t.deepEqual(defaults.restart, { condition: 'none', delayMs: null, maxAttempts: 0, windowMs: 0 });
  t.is(
    serviceRow(
      { ...service, spec: { ...spec, restart: { condition: RestartCondition.ANY, maxAttempts: 0, windowMs: 0 } } },
      undefined,
    ).restart?.condition,
    'any',
  );
});

test('taskRow: hostname resolved, lower-case states, ISO times', (t) => {
  const hostnames = new Map([[node.id, 'host1']]);
  const row = taskRow(task({ state: TaskState.FAILED, err: 'exit 1' }), hostnames);
  t.deepEqual(row, {
    id: 't1bbbbbbbbbbbbbbbbbbbbbbb',
    name: 'web.1',
    service: 'web',
    serviceId: 's1cccccccccccccccccccccccc',
    slot: 1,
    node: 'host1',
    nodeId: node.id,
    image: 'busybox:latest',
    desiredState: 'running',
    state: 'failed',
    error: 'exit 1',
    message: 'started',
    containerId: 'c0ffee',
    exitCode: 0,
    addresses: [],
    specVersion: 1,
    createdAt: '2026-01-02T03:04:04.000Z',
    updatedAt: '2026-01-02T03:04:05.000Z',
  });
  t.like(taskRow(task({ nodeId: '', state: TaskState.PENDING, err: 'no suitable node' }), hostnames), {
    node: '',
    state: 'pending',
    error: 'no suitable node',
  });
  t.like(taskRow(task({ nodeId: 'gone-node' }), hostnames), { node: 'gone-node' });
  // global task: slot 0, named after the node
  t.like(taskRow(task({ slot: 0 }), hostnames), { name: `web.${node.id.slice(0, 12)}` });
  // no status timestamp: creation time
  t.like(taskRow(task({ at: 0 }), hostnames), { updatedAt: '2026-01-02T03:04:04.000Z' });
});

test('taskTable: docker columns, state with age, unassigned node empty', (t) => {
  const hostnames = new Map([[node.id, 'host1']]);
  const rows = sortTaskRows([
    taskRow(
      task({ id: 'old', state: TaskState.SHUTDOWN, desiredState: TaskState.SHUTDOWN, at: T0 - 60_000 }),
      hostnames,
    ),
    taskRow(
      task({
        id: 'pend',
        slot: 2,
        nodeId: '',
        state: TaskState.PENDING,
        err: 'no suitable node (1 node not available)',
      }),
      hostnames,
    ),
    taskRow(task({ id: 'new' }), hostnames),
  ]);
  t.deepEqual(
    rows.map((r) => r.id),
    ['new', 'old', 'pend'],
  );
  const lines = taskTable(rows, T0 + 5000).split('\n');
  t.regex(lines[0] ?? '', /^ID +NAME +NODE +DESIRED STATE +CURRENT STATE +ERROR$/);
  t.regex(lines[1] ?? '', /^new +web\.1 +host1 +Running +Running 5 seconds ago$/);
  t.regex(lines[2] ?? '', /^old + \\_ web\.1 +host1 +Shutdown +Shutdown About a minute ago$/);
  t.regex(
    lines[3] ?? '',
    /^pend +web\.2 {2,}Running +Pending 5 seconds ago +no suitable node \(1 node not available\)$/,
  );
});

test('taskTable: slot history newest first, older tasks as " \\_ name", errors of failed tasks', (t) => {
  const hostnames = new Map([
    [node.id, 'host1'],
    ['n2', 'host2'],
  ]);
  // slot 1 ran on host2, failed its health check, was replaced on host1 (which sorts first by name)
  const rows = sortTaskRows([
    taskRow(
      task({
        id: 'first',
        nodeId: 'n2',
        createdAtMs: T0 - 30_000,
        state: TaskState.FAILED,
        err: 'task: non-zero exit (137)',
        desiredState: TaskState.SHUTDOWN,
        at: T0 - 20_000,
      }),
      hostnames,
    ),
    taskRow(
      task({
        id: 'second',
        nodeId: 'n2',
        createdAtMs: T0 - 20_000,
        state: TaskState.FAILED,
        err: 'unhealthy',
        desiredState: TaskState.SHUTDOWN,
        at: T0 - 10_000,
      }),
      hostnames,
    ),
    taskRow(task({ id: 'current', createdAtMs: T0 - 10_000, at: T0 - 9000 }), hostnames),
    taskRow(task({ id: 'other', slot: 2, createdAtMs: T0 - 40_000 }), hostnames),
    taskRow(task({ id: 'api', serviceId: 's2', serviceName: 'api', createdAtMs: T0 }), hostnames),
  ]);
  t.deepEqual(
    rows.map((r) => r.id),
    ['api', 'current', 'second', 'first', 'other'],
  );
  const lines = taskTable(rows, T0).split('\n');
  t.regex(lines[1] ?? '', /^api +api\.1 +host1 +Running/);
  t.regex(lines[2] ?? '', /^current +web\.1 +host1 +Running +Running 9 seconds ago$/);
  t.regex(lines[3] ?? '', /^second + \\_ web\.1 +host2 +Shutdown +Failed 10 seconds ago +unhealthy$/);
  t.regex(lines[4] ?? '', /^first + \\_ web\.1 +host2 +Shutdown +Failed 20 seconds ago +task: non-zero exit \(137\)$/);
  t.regex(lines[5] ?? '', /^other +web\.2 +host1 /);
  // a global service: grouped by node, history under each node's newest task
  const global = sortTaskRows([
    taskRow(task({ id: 'g-old', slot: 0, createdAtMs: T0 - 5000 }), hostnames),
    taskRow(task({ id: 'g2', slot: 0, nodeId: 'n2', createdAtMs: T0 - 1000 }), hostnames),
    taskRow(task({ id: 'g-new', slot: 0, createdAtMs: T0 }), hostnames),
  ]);
  t.deepEqual(
    global.map((r) => r.id),
    ['g-new', 'g-old', 'g2'],
  );
  const globalLines = taskTable(global, T0).split('\n');
  t.regex(globalLines[2] ?? '', new RegExp(`^g-old + \\\\_ web\\.${node.id.slice(0, 12)} +host1 `));
  t.regex(globalLines[3] ?? '', /^g2 +web\.n2 +host2 /);
});

test('managerRow / managerTable: Leader or Reachable, sorted by address', (t) => {
  const rows = sortManagerRows([
    managerRow({ id: 'm2', address: '10.213.0.2:4242', leader: false, startedAtMs: T0 - 90_000 }),
    managerRow({ id: 'm1', address: '10.213.0.1:4242', leader: true, startedAtMs: T0 - 3 * 3_600_000 }),
    managerRow({ id: 'm3', address: '10.213.0.3:4242', leader: false, startedAtMs: 0 }),
  ]);
  t.deepEqual(rows[0], { id: 'm1', address: '10.213.0.1:4242', leader: true, startedAt: '2026-01-02T00:04:05.000Z' });
  t.deepEqual(rows[2], { id: 'm3', address: '10.213.0.3:4242', leader: false, startedAt: null });
  const lines = managerTable(rows, T0).split('\n');
  t.regex(lines[0] ?? '', /^ID +ADDRESS +LEADER +STARTED$/);
  t.regex(lines[1] ?? '', /^m1 +10\.213\.0\.1:4242 +Leader +3 hours ago$/);
  t.regex(lines[2] ?? '', /^m2 +10\.213\.0\.2:4242 +Reachable +2 minutes ago$/);
  t.regex(lines[3] ?? '', /^m3 +10\.213\.0\.3:4242 +Reachable$/);
});

test('table: aligned with padding 3, min width 10, no trailing spaces', (t) => {
  t.is(
    table(
      ['A', 'LONGER HEADER'],
      [
        ['x', 'y'],
        ['wide value here', ''],
      ],
    ),
    [`${'A'.padEnd(18)}LONGER HEADER`, `${'x'.padEnd(18)}y`, 'wide value here'].join('\n'),
  );
});

test('jsonArray: always an array', (t) => {
  t.deepEqual(JSON.parse(jsonArray([])), []);
  t.deepEqual(JSON.parse(jsonArray([{ a: 1 }])), [{ a: 1 }]);
});

// ------------------------------------------------------------------ networks

const backend: NetworkDetail = {
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
      nodeId: node.id,
      subnet: '10.50.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:01',
      createdAtMs: T0,
    },
  ],
  services: ['web', 'api'],
};
const ingress: NetworkDetail = {
  network: {
    id: 'netaaaaaaaaaaaaaaaaaaaaaaa',
    spec: { name: 'default', subnet: '10.42.0.0/16', labels: {} },
    vni: 4097,
    hostPrefixLen: 24,
    isDefault: true,
    createdAtMs: T0,
  },
  leases: [],
  services: [],
};

test('networkRow: the ls JSON row, with service and host counts', (t) => {
  t.deepEqual(networkRow(backend), {
    id: 'netbbbbbbbbbbbbbbbbbbbbbbb',
    name: 'backend',
    subnet: '10.50.0.0/16',
    vni: 4098,
    default: false,
    services: 2,
    hosts: 2,
  });
  t.like(networkRow(ingress), { default: true, services: 0, hosts: 0 });
  t.like(networkRow({ network: undefined, leases: [], services: [] }), { id: '', name: '', subnet: '', vni: 0 });
});

test('networkTable: NETWORK ID NAME SUBNET VNI DEFAULT SERVICES, sorted by name', (t) => {
  const rows = sortNetworkRows([networkRow(backend), networkRow(ingress)]);
  t.deepEqual(
    rows.map((r) => r.name),
    ['backend', 'default'],
  );
  const out = networkTable(rows).split('\n');
  t.regex(out[0] ?? '', /^NETWORK ID +NAME +SUBNET +VNI +DEFAULT +SERVICES$/);
  t.regex(out[1] ?? '', /^netbbbbbbbbb +backend +10\.50\.0\.0\/16 +4098 {10,}2$/);
  t.regex(out[2] ?? '', /^netaaaaaaaaa +default +10\.42\.0\.0\/16 +4097 +yes +0$/);
  t.regex(networkTable(rows, true).split('\n')[1] ?? '', /^netb{23} /);
});

test('networkInspectRow: hostnames resolved, leases by host, services sorted', (t) => {
  const row = networkInspectRow(backend, new Map([[node.id, 'host1']]));
  t.deepEqual(row, {
    id: 'netbbbbbbbbbbbbbbbbbbbbbbb',
    name: 'backend',
    subnet: '10.50.0.0/16',
    vni: 4098,
    hostPrefixLen: 24,
    default: false,
    labels: { tier: 'db' },
    createdAt: '2026-01-02T03:04:05.000Z',
    leases: [
      { node: 'host1', nodeId: node.id, subnet: '10.50.0.0/24', nodeAddress: '10.213.0.11' },
      // an unknown node (e.g. removed meanwhile): its id
      { node: 'n2', nodeId: 'n2', subnet: '10.50.1.0/24', nodeAddress: '10.213.0.12' },
    ],
    services: ['api', 'web'],
  });
  t.deepEqual(backend.services, ['web', 'api'], 'the message is not changed');
});

test('taskRow: addresses; serviceRow: networks', (t) => {
  const base = task({});
  const running = task({
    status: {
      ...base.status!,
      addresses: [
        { network: 'backend', ip: '10.50.0.5' },
        { network: 'default', ip: '10.42.3.2' },
      ],
    },
  });
  t.deepEqual(taskRow(running, new Map()).addresses, [
    { network: 'backend', ip: '10.50.0.5' },
    { network: 'default', ip: '10.42.3.2' },
  ]);
  t.deepEqual(taskRow(base, new Map()).addresses, []);
  t.deepEqual(taskRow({ ...base, status: undefined }, new Map()).addresses, []);
  const service: Service = {
    id: 's1',
    spec: { ...spec, networks: ['backend', 'front'] },
    specVersion: 1,
    createdAtMs: T0,
    updatedAtMs: T0,
  };
  t.deepEqual(serviceRow(service, undefined).networks, ['backend', 'front']);
  t.deepEqual(serviceRow({ ...service, spec }, undefined).networks, []);
});

// ------------------------------------------------------------------ ports, endpoints, events

test('portsText: ingress as *:P->T/proto, host mode at "host" or the given address', (t) => {
  const ports = [
    portRow({ publishedPort: 8080, targetPort: 80, protocol: '', publishMode: PublishMode.INGRESS }),
    portRow({ publishedPort: 53, targetPort: 53, protocol: 'udp', publishMode: PublishMode.HOST }),
  ];
  t.deepEqual(ports[0], { published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' });
  t.is(portsText(ports), '*:8080->80/tcp, host:53->53/udp');
  t.is(portsText(ports, '10.213.0.12'), '*:8080->80/tcp, 10.213.0.12:53->53/udp');
  t.is(portsText([]), '');
});

test('endpointTable: a global task is named by its node, IPs per network, health', (t) => {
  const row = endpointRow({
    serviceId: 's',
    serviceName: 'agent',
    taskId: 'tglobalaaaaaaaaaaaaaaaaaa',
    slot: 0,
    nodeId: 'n9zzzzzzzzzzzzzzzzzzzzzzz',
    nodeName: '',
    nodeAddress: '',
    addresses: [],
    ports: [{ publishedPort: 9100, targetPort: 9100, protocol: 'tcp', publishMode: PublishMode.HOST }],
    healthChecked: false,
    registeredAtMs: 0,
  });
  t.like(row, { task: 'agent.n9zzzzzzzzzz', node: 'n9zzzzzzzzzzzzzzzzzzzzzzz', registeredAt: null });
  const [header, line] = endpointTable([row]).split('\n');
  t.regex(header ?? '', /^TASK +ID +NODE +IP +PORTS +HEALTH$/);
  t.regex(line ?? '', /^agent\.n9zzzzzzzzzz +tglobalaaaaa +n9z+ +host:9100->9100\/tcp +no check$/);
});

const ev = (subject: string, payload: unknown): Event => ({
  type: subject.split('.')[2] ?? '',
  subject,
  timeMs: T0,
  payloadJson: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

test('eventLine: known shapes, a global task, unknown fields and shapes, text that is not JSON', (t) => {
  t.is(
    eventLine(
      ev('shoal.events.task.agent', {
        type: 'created',
        task: 't9',
        service: 'agent',
        slot: 0,
        nodeId: 'n9zzzzzzzzzzzzzz',
        state: 'new',
        desiredState: 'running',
        error: '',
        containerId: '',
      }),
    ),
    '2026-01-02T03:04:05.000Z task created agent.n9zzzzzzzzzz task=t9 node=n9zzzzzzzzzzzzzz state=new desired=running',
  );
  t.is(
    eventLine(
      ev('shoal.events.endpoint.web', {
        type: 'deregistered',
        service: 'web',
        slot: 2,
        task: 't2',
        node: 'host3',
        addresses: [
          { network: 'a', ip: '10.42.3.4' },
          { network: 'b', ip: '10.50.3.4' },
        ],
        ports: [],
        reason: 'node down',
      }),
    ),
    '2026-01-02T03:04:05.000Z endpoint deregistered web.2 task=t2 node=host3 ip=10.42.3.4,10.50.3.4 reason="node down"',
  );
  t.is(
    eventLine(
      ev('shoal.events.endpoint.dns', {
        type: 'registered',
        service: 'dns',
        task: 't1',
        slot: 1,
        nodeId: 'n1',
        node: '',
        addresses: [],
        ports: [{ protocol: 'udp', targetPort: 53, publishedPort: 53, publishMode: 'host' }],
      }),
    ),
    '2026-01-02T03:04:05.000Z endpoint registered dns.1 task=t1 node=n1 ports=host:53->53/udp',
  );
  t.is(
    eventLine(ev('shoal.events.widget.thing', { count: 2, tags: ['x'] })),
    '2026-01-02T03:04:05.000Z widget event thing count=2 tags=["x"]',
  );
  t.is(eventLine(ev('shoal.events.task.web', 'not json')), '2026-01-02T03:04:05.000Z task event web "not json"');
});

test('eventRow: the payload parsed, or its text', (t) => {
  t.deepEqual(eventRow(ev('shoal.events.node.h', { a: 1 })), {
    time: '2026-01-02T03:04:05.000Z',
    type: 'node',
    subject: 'shoal.events.node.h',
    payload: { a: 1 },
  });
  t.is(eventRow(ev('shoal.events.node.h', '{oops')).payload, '{oops');
});
