// cli/commands/events/events.ts: --filter -> EventsRequest; `shoal events` through the real
// cli/bin/shoal: one line (or JSON object) per event, until Ctrl-C / SIGTERM.
import test from 'ava';
import { events } from '../../../../../cli/commands/events/events.js';
import type { EventsRequest } from '../../../../../proto/gen/shoal.js';
import { type FakeControl, startFake } from '../../../../helpers/fake-control.js';
import { lines, parse, parseAs, RunningShoal, shoal, usageError } from '../../../../helpers/run-shoal.js';

const TIME = Date.parse('2026-12-01T10:00:00.123Z');

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

test('events: a top-level command; --filter maps to EventsRequest; --host after it', (t) => {
  t.deepEqual(parseAs(events, ['events']), { request: { types: [], name: '' }, format: 'text' });
  t.deepEqual(parseAs(events, ['events', '-f', 'type=node', '-f', 'type=task', '-f', 'type=node']).request, {
    types: ['node', 'task'],
    name: '',
  });
  t.deepEqual(parseAs(events, ['events', '--filter', 'service=web', '--filter', 'type=health']).request, {
    types: ['health'],
    name: 'web',
  });
  t.deepEqual(parseAs(events, ['events', '--filter', 'node=host1']).request, { types: ['node'], name: 'host1' });
  t.deepEqual(parseAs(events, ['events', '--filter', 'service=web', '--filter', 'service=web']).request.name, 'web');
  t.is(parseAs(events, ['events', '--format', 'json']).format, 'json');
  t.deepEqual(parse(['events', '--host', 'm1:1,m2:2']).hosts, ['m1:1', 'm2:2']);
  t.deepEqual(parse(['-H', 'm3:3', 'events']).hosts, ['m3:3']);
  t.like(parse(['events', '--help']).command, { name: 'help', ok: true });
  t.like(parse(['--help', 'events']).command, { name: 'help', ok: true });
  t.regex(usageError(['events', '--since', '1m']), /^unknown flag --since for "events"$/);
});

// ------------------------------------------------------------------ through shoal

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
  const { fake, host } = await startFake(t);
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
  const { fake, host } = await startFake(t);
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
  const { fake, host } = await startFake(t);
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
  const { fake, host } = await startFake(t);
  const a = await follow(t, fake, ['events', '--filter', 'service=web'], host);
  a.kill('SIGINT');
  await a.done;
  await fake.waitForNoEventStreams();
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
  const { fake, host } = await startFake(t);
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

test('events --help and the root usage list it', async (t) => {
  const [help, root] = await Promise.all([shoal(['events', '--help'], undefined), shoal(['--help'], undefined)]);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: {2}shoal events \[OPTIONS\]/);
  t.regex(help.stdout, /-f, --filter FILTER/);
  t.regex(root.stdout, /\n {2}events +Stream the cluster's events live/);
});
