// The Control API's own checks: names as DNS labels, subnets clear of reserved blocks and of
// the hosts' addresses, bounded durations and replicas, a write the store refuses undone and
// failed, and the Events stream to a client that does not read ended, not buffered forever.
import { EventEmitter } from 'node:events';
import test from 'ava';
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { Event, EventsRequest } from '../../../../proto/gen/shoal.js';
import { ApiError } from '../../../../manager/errors.js';
import { MAX_QUEUED_EVENTS, serveEvents, type EventFollower } from '../../../../manager/controlapi/control-api.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

function core(): Core {
  const c = new Core([1, 2].map((i) => makeNode(`host${i}`, { id: `id-host${i}` })));
  c.state.putNode({
    ...c.state.nodes.get('id-host2')!,
    description: { ...makeNode('host2').description!, address: '172.20.0.12' },
  });
  return c;
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

test('service names are DNS labels: capitals, dots, spaces, unicode, 64+ characters refused', async (t) => {
  const c = core();
  t.teardown(() => c.close());
  const cases: Array<[string, RegExp]> = [
    ['Web', /^invalid service name "Web": no capitals/],
    ['github.com', /^invalid service name "github.com": no dots/],
    ['web server', /^invalid service name "web server": use only lowercase/],
    ['wéb', /^invalid service name "wéb": use only lowercase/],
    ['a'.repeat(300), /^invalid service name "a{64}"\.\.\.\(300 characters\): at most 63 characters/],
    ['-web', /must start and end with a letter or digit/],
    ['web_', /must start and end with a letter or digit, not '-' or '_'/],
  ];
  for (const [name, message] of cases) {
    const err = await refusal(c.api.createService({ spec: makeSpec(name) }));
    t.is(err.code, status.INVALID_ARGUMENT, name);
    t.regex(err.message, message);
  }
  for (const ok of ['web', 'a'.repeat(63), 'web-2', '3d']) t.truthy(await c.api.createService({ spec: makeSpec(ok) }));
});

test('replicas, durations and sizes are bounded, with the CLI flag named', async (t) => {
  const c = core();
  t.teardown(() => c.close());
  const msg = async (spec: Parameters<typeof makeSpec>[1]) =>
    (await refusal(c.api.createService({ spec: makeSpec('w', spec) }))).message;
  t.is(await msg({ replicas: 1e9 }), 'invalid --replicas 1000000000: at most 100000');
  t.is(await msg({ stopGracePeriodMs: 3.6e15 }), 'invalid --stop-grace-period "3600000000000000ms": at most 24h');
  t.is(
    await msg({ health: { test: [], intervalMs: 25 * 3_600_000, timeoutMs: 0, retries: 0, startPeriodMs: 0 } }),
    'invalid --health-interval "90000000ms": at most 24h',
  );
  t.is(
    await msg({ restart: { condition: 0, delayMs: -1, maxAttempts: 0, windowMs: 0 } }),
    'invalid --restart-delay "-1ms": must not be negative',
  );
  t.regex(
    await msg({ env: Array.from({ length: 1_025 }, (_, i) => `K${i}=v`) }),
    /^too many --env values: 1025, at most 1024$/,
  );
  t.regex(
    await msg({ labels: { k: 'v'.repeat(5_000) } }),
    /^invalid --label value of "k" "v{64}"\.\.\.\(5000 characters\): 5000 bytes, at most 4 KiB$/,
  );
  t.regex(
    await msg({ replicas: 100_000, env: Array.from({ length: 100 }, (_, i) => `K${i}=${'v'.repeat(1_000)}`) }),
    /^service "w" would store [\d.]+ MiB with its 100000 tasks, at most 256 MiB/,
  );
  const base = await c.api.createService({ spec: makeSpec('base') });
  t.is(
    (await refusal(c.api.scaleService({ ref: base.id, replicas: 100_001 }))).message,
    'invalid --replicas 100001: at most 100000',
  );
});

test('network subnets: reserved blocks and the hosts own addresses are refused', async (t) => {
  const c = core();
  t.teardown(() => c.close());
  const msg = async (subnet: string) =>
    (await refusal(c.api.createNetwork({ spec: { name: 'n', subnet, labels: {} } }))).message;
  t.is(
    await msg('127.0.0.0/16'),
    'invalid --subnet "127.0.0.0/16": it overlaps 127.0.0.0/8 (loopback), which no network may use',
  );
  t.regex(await msg('169.254.0.0/16'), /169\.254\.0\.0\/16 \(link-local\)/);
  t.regex(await msg('224.0.0.0/8'), /224\.0\.0\.0\/4 \(multicast\)/);
  t.regex(await msg('240.0.0.0/8'), /240\.0\.0\.0\/4 \(reserved\)/);
  t.regex(await msg('0.0.0.0/8'), /0\.0\.0\.0\/8 \("this network"\)/);
  t.is(
    await msg('172.20.0.0/16'),
    'invalid --subnet "172.20.0.0/16": it contains 172.20.0.12, the address of node host2 (the hosts\' own network)',
  );
  t.regex(await msg('10.0.0.0/8'), /contains 10\.0\.0\.1, the address of node host1/);
  t.is(
    (await refusal(c.api.createNetwork({ spec: { name: 'My.Net', subnet: '', labels: {} } }))).message,
    "invalid network name \"My.Net\": no dots: use lowercase letters, digits, '-' and '_' (a DNS label)",
  );
  t.truthy(await c.api.createNetwork({ spec: { name: 'ok', subnet: '172.21.0.0/16', labels: {} } }));
});

test('a service write the store refuses for good is undone and the call fails with the reason', async (t) => {
  const c = core();
  t.teardown(() => c.close());
  await c.writer.sync();
  c.store.maxRequestBytes = 2_000; // stands in for etcd's limit, which a valid spec never reaches
  const err = await refusal(c.api.createService({ spec: makeSpec('big', { env: [`K=${'v'.repeat(3_000)}`] }) }));
  t.is(err.code, status.INVALID_ARGUMENT);
  t.regex(err.message, /^not stored: the store refused services\/\w+ \(\d+ bytes\): .*request is too large/);
  t.is(c.state.serviceByName('big'), undefined, 'undone in memory');
  c.store.maxRequestBytes = 1.5 * 2 ** 20;
  const ok = await c.api.createService({ spec: makeSpec('small') });
  t.is(ok.spec?.name, 'small');
});

// ------------------------------------------------------------------ Events to a slow client

class FakeCall extends EventEmitter {
  writableLength = 0;
  readonly written: Event[] = [];
  errors: Array<{ code?: number; details?: string }> = [];
  constructor(readonly request: EventsRequest) {
    super();
    this.on('error', (e: { code?: number; details?: string }) => this.errors.push(e));
  }
  write(e: Event): boolean {
    this.written.push(e);
    this.writableLength++; // never drained: the client reads nothing
    return false;
  }
}

test('Events: a client that reads nothing gets RESOURCE_EXHAUSTED once MAX_QUEUED_EVENTS wait; no more is buffered', (t) => {
  let write: ((e: Event) => void) | undefined;
  let stopped = 0;
  const relay: EventFollower = {
    follow: (_req, w) => {
      write = w;
      return () => void stopped++;
    },
  };
  const call = new FakeCall({ types: [], name: '' });
  serveEvents(relay, call as unknown as ServerWritableStream<EventsRequest, Event>);
  const event: Event = { type: 'task', subject: 'shoal.events.task.web', timeMs: 0, payloadJson: '{}' };
  for (let i = 0; i < MAX_QUEUED_EVENTS * 3; i++) write!(event);
  t.is(call.written.length, MAX_QUEUED_EVENTS);
  t.is(call.errors.length, 1);
  t.is(call.errors[0]?.code, status.RESOURCE_EXHAUSTED);
  t.regex(call.errors[0]?.details ?? '', /reads too slowly \(4096 events waiting to be sent\)/);
  t.is(stopped, 1, 'unsubscribed from the relay');
});

test('Events: an unknown type is refused before following', (t) => {
  let followed = false;
  const relay: EventFollower = {
    follow: () => {
      followed = true;
      return () => {};
    },
  };
  const call = new FakeCall({ types: ['bogus'], name: '' });
  serveEvents(relay, call as unknown as ServerWritableStream<EventsRequest, Event>);
  t.false(followed);
  t.is(call.errors[0]?.code, status.INVALID_ARGUMENT);
  t.is(call.errors[0]?.details, 'invalid event type "bogus": expected task, node, service, health, endpoint');
});
