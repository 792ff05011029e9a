// The real cli/bin/shoal against fake Control servers: --publish, service lookup, events.
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { type Endpoint, PublishMode, type EventsRequest, type CreateServiceRequest } from '../../../proto/gen/shoal.js';
import { FakeControl } from '../../helpers/fake-control.js';
import { deadAddress } from '../../helpers/ports.js';
import { lines, RunningShoal, shoal } from '../../helpers/run-shoal.js';

async function withFake(t: { teardown(fn: () => Promise<void>): void }): Promise<{ fake: FakeControl; host: string }> {
  const fake = new FakeControl();
  const host = await fake.start();
  t.teardown(() => fake.stop());
  return { fake, host };
}

/** Starts `shoal args` and waits until the fake has its Events stream open. */
async function follow(
  t: { teardown(fn: () => void): void },
  fake: FakeControl,
  args: string[],
  host: string,
): Promise<RunningShoal> {
  const run = new RunningShoal(args, host);
  t.teardown(() => run.kill('SIGKILL'));
  await fake.waitForEventStreams();
  return run;
}

const TIME = Date.parse('2026-12-01T10:00:00.123Z');

// ------------------------------------------------------------------ --publish

test('service create --publish: short and long forms on the wire, in order', async (t) => {
  const { fake, host } = await withFake(t);
  const r = await shoal(
    [
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--publish',
      '8080:80',
      '-p',
      '8443:443/tcp',
      '--publish',
      'published=9000,target=90,mode=host',
      '--publish',
      'mode=host,protocol=udp,target=53,published=53',
      '--publish',
      'published=8081,target=81,protocol=tcp,mode=ingress',
      'img',
    ],
    host,
  );
  t.is(r.code, 0, r.stderr);
  const [call] = fake.calls.filter((c) => c.method === 'createService');
  t.deepEqual((call?.request as CreateServiceRequest).spec?.ports, [
    { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS },
    { publishedPort: 8443, targetPort: 443, protocol: 'tcp', publishMode: PublishMode.INGRESS },
    { publishedPort: 9000, targetPort: 90, protocol: 'tcp', publishMode: PublishMode.HOST },
    { publishedPort: 53, targetPort: 53, protocol: 'udp', publishMode: PublishMode.HOST },
    { publishedPort: 8081, targetPort: 81, protocol: 'tcp', publishMode: PublishMode.INGRESS },
  ]);
});

test('bad --publish: one stderr line, exit 1, nothing sent', async (t) => {
  const { fake, host } = await withFake(t);
  const cases: Array<[string[], string]> = [
    [['80x:80'], 'invalid --publish "80x:80": published port must be a number 1-65535'],
    [['8080:0'], 'invalid --publish "8080:0": target port must be a number 1-65535'],
    [['70000:80'], 'invalid --publish "70000:80": published port must be a number 1-65535'],
    [['80'], 'invalid --publish "80": a published port is required, e.g. 8080:80 (shoal does not pick one)'],
    [['8080-8081:80-81'], 'invalid --publish "8080-8081:80-81": port ranges are not supported'],
    [
      ['127.0.0.1:8080:80'],
      'invalid --publish "127.0.0.1:8080:80": a host IP is not supported (the port is published on the hosts themselves)',
    ],
    [['8080:80/sctp'], 'invalid --publish "8080:80/sctp": protocol must be tcp or udp'],
    [
      ['53:53/udp'],
      "--publish 53:53/udp: the routing mesh carries tcp only; publish udp on the task's host with published=53,target=53,protocol=udp,mode=host",
    ],
    [
      ['published=53,target=53,protocol=udp'],
      "--publish published=53,target=53,protocol=udp: the routing mesh carries tcp only; add mode=host to publish udp on the task's host",
    ],
    [
      ['target=80'],
      'invalid --publish "target=80": a published port is required, e.g. published=8080,target=80 (shoal does not pick one)',
    ],
    [['published=8080'], 'invalid --publish "published=8080": target is required'],
    [
      ['published=8080,target=80,mode=global'],
      'invalid --publish "published=8080,target=80,mode=global": mode must be ingress or host',
    ],
    [
      ['published=8080,target=80,src=1'],
      'invalid --publish "published=8080,target=80,src=1": unknown field "src" (expected published, target, protocol or mode)',
    ],
    [
      ['published=8080,published=8081,target=80'],
      'invalid --publish "published=8080,published=8081,target=80": published is given twice',
    ],
    [['published=8080,target'], 'invalid --publish "published=8080,target": expected KEY=VALUE, got "target"'],
    [['8080:80', 'published=8080,target=81,mode=host'], 'published port 8080/tcp is given twice'],
  ];
  const results = await Promise.all(
    cases.map(([values]) =>
      shoal(['service', 'create', '--name', 'w', ...values.flatMap((v) => ['--publish', v]), 'img'], host),
    ),
  );
  results.forEach((r, i) => {
    const [values, expected] = cases[i]!;
    t.is(r.code, 1, values.join(' '));
    t.is(r.stdout, '', values.join(' '));
    t.is(r.stderr, `shoal: ${expected}\n`, values.join(' '));
  });
  t.deepEqual(fake.calls, []);
});

test("service ls: a PORTS column as docker's; ls JSON and inspect carry the ports", async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({
    name: 'web',
    ports: [
      { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS },
      { publishedPort: 53, targetPort: 53, protocol: 'udp', publishMode: PublishMode.HOST },
    ],
  });
  fake.addService({ name: 'worker' });
  const [table, json, inspect] = await Promise.all([
    shoal(['service', 'ls'], host),
    shoal(['service', 'ls', '--format', 'json'], host),
    shoal(['service', 'inspect', 'web'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const rows = lines(table.stdout);
  t.regex(rows[0] ?? '', /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  t.regex(rows[1] ?? '', /^\S{12} +web +replicated +1\/1 +busybox +\*:8080->80\/tcp, host:53->53\/udp$/);
  t.regex(rows[2] ?? '', /^\S{12} +worker +replicated +1\/1 +busybox$/);
  const ports = [
    { published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' },
    { published: 53, target: 53, protocol: 'udp', mode: 'host' },
  ];
  t.deepEqual((JSON.parse(json.stdout) as Array<{ ports: unknown }>)[0]?.ports, ports);
  t.deepEqual((JSON.parse(json.stdout) as Array<{ ports: unknown }>)[1]?.ports, []);
  t.is(inspect.code, 0, inspect.stderr);
  t.deepEqual((JSON.parse(inspect.stdout) as Array<{ ports: unknown }>)[0]?.ports, ports);
});

// ------------------------------------------------------------------ service lookup

function endpoint(over: Partial<Endpoint>): Endpoint {
  return {
    serviceId: 'svc-web',
    serviceName: 'web',
    taskId: 'task1aaaaaaaaaaaaaaaaaaaaa',
    slot: 1,
    nodeId: 'node1aaaaaaaaaaaaaaaaaaaa',
    nodeName: 'host1',
    nodeAddress: '10.213.0.11',
    addresses: [{ network: 'shoal', ip: '10.42.1.2' }],
    ports: [{ publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS }],
    healthChecked: true,
    registeredAtMs: TIME,
    ...over,
  };
}

test('service lookup: a table by slot, one line per endpoint; JSON rows', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({ name: 'web', replicas: 2 });
  fake.endpoints = [
    endpoint({
      taskId: 'task2bbbbbbbbbbbbbbbbbbbbb',
      slot: 2,
      nodeName: 'host2',
      nodeAddress: '10.213.0.12',
      addresses: [
        { network: 'shoal', ip: '10.42.2.3' },
        { network: 'backend', ip: '10.50.2.3' },
      ],
      ports: [
        { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS },
        { publishedPort: 9000, targetPort: 90, protocol: 'udp', publishMode: PublishMode.HOST },
      ],
      healthChecked: false,
    }),
    endpoint({}),
    endpoint({ serviceName: 'other', taskId: 'other' }),
  ];
  const [table, json] = await Promise.all([
    shoal(['service', 'lookup', 'web'], host),
    shoal(['service', 'lookup', 'web', '--format', 'json'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  t.deepEqual(
    lines(table.stdout).map((l) => l.split(/ {2,}/)),
    [
      ['TASK', 'ID', 'NODE', 'IP', 'PORTS', 'HEALTH'],
      ['web.1', 'task1aaaaaaa', 'host1', 'shoal=10.42.1.2', '*:8080->80/tcp', 'healthy'],
      [
        'web.2',
        'task2bbbbbbb',
        'host2',
        'shoal=10.42.2.3,backend=10.50.2.3',
        '*:8080->80/tcp, 10.213.0.12:9000->90/udp',
        'no check',
      ],
    ],
  );
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 2);
  t.deepEqual(rows[0], {
    task: 'web.1',
    taskId: 'task1aaaaaaaaaaaaaaaaaaaaa',
    service: 'web',
    serviceId: 'svc-web',
    slot: 1,
    node: 'host1',
    nodeId: 'node1aaaaaaaaaaaaaaaaaaaa',
    nodeAddress: '10.213.0.11',
    addresses: [{ network: 'shoal', ip: '10.42.1.2' }],
    ports: [{ published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' }],
    healthChecked: true,
    registeredAt: '2026-12-01T10:00:00.123Z',
  });
  t.is(rows[1]?.healthChecked, false);
  t.deepEqual(
    fake.calls.map((c) => [c.method, c.request]),
    [
      ['lookupService', { name: 'web' }],
      ['lookupService', { name: 'web' }],
    ],
  );
});

test('service lookup: no endpoints is a header; an unknown service and bad input exit 1', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({ name: 'idle' });
  const [empty, unknown, none, two, format] = await Promise.all([
    shoal(['service', 'lookup', 'idle'], host),
    shoal(['service', 'lookup', 'nope'], host),
    shoal(['service', 'lookup'], host),
    shoal(['service', 'lookup', 'a', 'b'], host),
    shoal(['service', 'lookup', '--format', 'yaml', 'idle'], host),
  ]);
  t.is(empty.code, 0, empty.stderr);
  t.regex(empty.stdout, /^TASK +ID +NODE +IP +PORTS +HEALTH\n$/);
  t.is(unknown.code, 1);
  t.is(unknown.stdout, '');
  t.is(unknown.stderr, 'shoal: no such service: nope\n');
  t.is(none.stderr, 'shoal: service lookup requires a SERVICE\n');
  t.is(two.stderr, 'shoal: service lookup takes exactly one SERVICE, got 2\n');
  t.is(format.stderr, 'shoal: invalid --format "yaml": expected table or json\n');
  t.deepEqual([none.code, two.code, format.code], [1, 1, 1]);
  t.is(fake.count('lookupService'), 2);
});

// ------------------------------------------------------------------ events

const TASK_EVENT = {
  type: 'updated',
  task: 'task1',
  service: 'web',
  slot: 1,
  nodeId: 'node1',
  state: 'failed',
  desiredState: 'shutdown',
  error: 'task: non-zero exit (1)',
  containerId: 'c0ffee0123456789abcdef',
};

test('events: one line per event until Ctrl-C, then exit 0', async (t) => {
  const { fake, host } = await withFake(t);
  const run = await follow(t, fake, ['events'], host);
  fake.emitEvent('shoal.events.task.web', TASK_EVENT, TIME);
  fake.emitEvent(
    'shoal.events.node.host2',
    { type: 'updated', node: 'node2', hostname: 'host2', status: 'down', availability: 'active' },
    TIME,
  );
  fake.emitEvent('shoal.events.service.web', { type: 'created', service: 'svc1', name: 'web', replicas: 3 }, TIME);
  fake.emitEvent(
    'shoal.events.health.web',
    { task: 'task1', service: 'web', slot: 1, nodeId: 'node1', containerId: 'c0ffee0123456789', health: 'unhealthy' },
    TIME,
  );
  fake.emitEvent(
    'shoal.events.endpoint.web',
    // the shape manager/events/publisher.ts publishes
    {
      type: 'registered',
      service: 'web',
      task: 'abc',
      slot: 1,
      nodeId: 'node2',
      node: 'host2',
      addresses: [{ network: 'shoal', ip: '10.42.2.3' }],
      ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' }],
    },
    TIME,
  );
  await run.until((out) => lines(out).length === 5);
  run.kill('SIGINT');
  const r = await run.done;
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.deepEqual(lines(r.stdout), [
    '2026-12-01T10:00:00.123Z task updated web.1 task=task1 node=node1 state=failed desired=shutdown error="task: non-zero exit (1)" container=c0ffee012345',
    '2026-12-01T10:00:00.123Z node updated host2 id=node2 status=down availability=active',
    '2026-12-01T10:00:00.123Z service created web id=svc1 replicas=3',
    '2026-12-01T10:00:00.123Z health unhealthy web.1 task=task1 node=node1 container=c0ffee012345',
    '2026-12-01T10:00:00.123Z endpoint registered web.1 task=abc node=host2 ip=10.42.2.3 ports=*:8080->80/tcp',
  ]);
  t.deepEqual(fake.calls, [{ method: 'events', request: { types: [], name: '' } }]);
});

test('events --format json: one object per line; SIGTERM ends it with exit 0', async (t) => {
  const { fake, host } = await withFake(t);
  const run = await follow(t, fake, ['events', '--format', 'json'], host);
  fake.emitEvent('shoal.events.task.web', TASK_EVENT, TIME);
  await run.until((out) => lines(out).length === 1);
  run.kill('SIGTERM');
  const r = await run.done;
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    lines(r.stdout).map((l) => JSON.parse(l) as unknown),
    [{ time: '2026-12-01T10:00:00.123Z', type: 'task', subject: 'shoal.events.task.web', payload: TASK_EVENT }],
  );
});

test('events --filter: types and a name in the request; only matching events shown', async (t) => {
  const { fake, host } = await withFake(t);
  const run = await follow(
    t,
    fake,
    ['events', '--filter', 'type=task', '-f', 'type=endpoint', '--filter', 'service=my.app'],
    host,
  );
  t.deepEqual(fake.calls[0]?.request as EventsRequest, { types: ['task', 'endpoint'], name: 'my.app' });
  fake.emitEvent('shoal.events.service.my_app', { type: 'created', name: 'my.app' }, TIME); // type not asked for
  fake.emitEvent('shoal.events.task.web', TASK_EVENT, TIME); // another service
  fake.emitEvent('shoal.events.task.my_app', { ...TASK_EVENT, service: 'my.app' }, TIME);
  await run.until((out) => lines(out).length === 1);
  run.kill('SIGINT');
  const r = await run.done;
  t.is(r.code, 0);
  t.deepEqual(
    lines(r.stdout).map((l) => l.split(' ').slice(1, 4).join(' ')),
    ['task updated my.app.1'],
  );
});

test('events --filter: the request for service= and node= alone', async (t) => {
  const { fake, host } = await withFake(t);
  const a = await follow(t, fake, ['events', '--filter', 'service=web'], host);
  a.kill('SIGINT');
  await a.done;
  const b = await follow(t, fake, ['events', '--filter', 'node=host1', '--filter', 'type=node'], host);
  b.kill('SIGINT');
  await b.done;
  t.deepEqual(
    fake.calls.map((c) => c.request),
    [
      { types: ['task', 'service', 'health', 'endpoint'], name: 'web' },
      { types: ['node'], name: 'host1' },
    ],
  );
});

test('events: bad filters and formats are one line, exit 1, nothing sent', async (t) => {
  const { fake, host } = await withFake(t);
  const cases: Array<[string[], string]> = [
    [
      ['--filter', 'type=container'],
      'invalid --filter "type=container": type must be task, node, service, health or endpoint',
    ],
    [
      ['--filter', 'event=start'],
      'invalid --filter "event=start": unknown filter "event" (expected type, service or node)',
    ],
    [['--filter', 'web'], 'invalid --filter "web": expected KEY=VALUE'],
    [['--filter', 'service='], 'invalid --filter "service=": a name is required'],
    [['--filter', 'service=a', '--filter', 'service=b'], 'only one service= or node= filter can be given'],
    [['--filter', 'service=a', '--filter', 'node=h'], 'only one service= or node= filter can be given'],
    [
      ['--filter', 'service=web', '--filter', 'type=node'],
      '--filter type=node does not go with service=web: node events are named by hostname (use node=NAME)',
    ],
    [
      ['--filter', 'node=host1', '--filter', 'type=task'],
      '--filter type=task does not go with node=host1: node= selects node events only',
    ],
    [['--format', 'table'], 'invalid --format "table": expected text or json'],
    [['extra'], '"events" accepts no arguments, got "extra"'],
  ];
  const results = await Promise.all(cases.map(([args]) => shoal(['events', ...args], host)));
  results.forEach((r, i) => {
    const [args, expected] = cases[i]!;
    t.is(r.code, 1, args.join(' '));
    t.is(r.stderr, `shoal: ${expected}\n`, args.join(' '));
  });
  t.deepEqual(fake.calls, []);
});

test('events: the manager going away ends it with one line and exit 1', async (t) => {
  const { fake, host } = await withFake(t);
  const run = await follow(t, fake, ['events'], host);
  fake.emitEvent('shoal.events.task.web', TASK_EVENT, TIME);
  await run.until((out) => lines(out).length === 1);
  fake.kill();
  const r = await run.done;
  t.is(r.code, 1);
  t.is(lines(r.stdout).length, 1);
  t.is(r.stderr, `shoal: the event stream from ${host} ended: the manager went away\n`);
});

test('events: a stream the manager ends (OK or an error) ends the command with exit 1', async (t) => {
  const { fake, host } = await withFake(t);
  const a = await follow(t, fake, ['events'], host);
  fake.endEvents();
  const ok = await a.done;
  const b = await follow(t, fake, ['events'], host);
  fake.endEvents({ code: grpcStatus.UNAVAILABLE, details: 'events relay stopped' });
  const unavailable = await b.done;
  t.is(ok.code, 1);
  t.is(ok.stderr, `shoal: the event stream from ${host} ended: the manager closed it\n`);
  t.is(unavailable.code, 1);
  t.is(unavailable.stderr, `shoal: the event stream from ${host} ended: events relay stopped\n`);
});

test('events: several addresses: the stream moves to the next manager when one goes away', async (t) => {
  const { fake: a, host: hostA } = await withFake(t);
  const { fake: b, host: hostB } = await withFake(t);
  const dead = await deadAddress();
  const run = await follow(t, a, ['events', '--host', `${dead},${hostA},${hostB}`], hostA);
  a.emitEvent('shoal.events.service.web', { type: 'created', service: 'svc1', name: 'web', replicas: 1 }, TIME);
  await run.until((out) => lines(out).length === 1);
  a.kill();
  await b.waitForEventStreams();
  b.emitEvent('shoal.events.service.web', { type: 'updated', service: 'svc1', name: 'web', replicas: 2 }, TIME);
  await run.until((out) => lines(out).length === 2);
  t.is(
    run.stderr,
    `event stream from ${hostA} ended (the manager went away); reopening it on ${hostB} (events in between are missed)\n`,
  );
  // b goes away too; a is gone, the dead address still refuses: nothing left to follow.
  b.kill();
  const r = await run.done;
  t.is(r.code, 1);
  t.deepEqual(
    lines(r.stdout).map((l) => l.split(' ').slice(1, 3).join(' ')),
    ['service created', 'service updated'],
  );
  t.is(
    lines(r.stderr).at(-1),
    `shoal: the event stream from ${hostB} ended: the manager went away; no other manager answered`,
  );
});

test('events: a manager without events, and no manager at all', async (t) => {
  const { fake, host } = await withFake(t);
  fake.failures.set('events', { code: grpcStatus.UNIMPLEMENTED, details: 'events are not available yet' });
  const dead = await deadAddress();
  const [unimplemented, unreachable] = await Promise.all([shoal(['events'], host), shoal(['events'], dead)]);
  t.is(unimplemented.code, 1);
  t.is(unimplemented.stderr, 'shoal: events are not available yet\n');
  t.is(unreachable.code, 1);
  t.is(unreachable.stderr, `shoal: cannot reach the manager at ${dead} (is it running? set --host or SHOAL_HOST)\n`);
});

test('events --help and the root usage list it', async (t) => {
  const [help, root] = await Promise.all([shoal(['events', '--help'], undefined), shoal(['--help'], undefined)]);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: {2}shoal events \[OPTIONS\]/);
  t.regex(help.stdout, /-f, --filter FILTER/);
  t.regex(root.stdout, /\n {2}events +Stream the cluster's events live/);
});
