// GrpcControlApi in this process against fake Control servers on loopback: which address
// is tried when, and what it costs (measured here, without a CLI's start-up time).
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { GrpcControlApi } from '../../../cli/client.js';
import { ManagerError, UnreachableError } from '../../../cli/errors.js';
import { FakeControl } from '../../helpers/fake-control.js';
import { deadAddress, silentServer, slowProxy } from '../../helpers/ports.js';

type Teardown = { teardown(fn: () => Promise<void> | void): void };

async function fake(t: Teardown, name: string): Promise<{ fake: FakeControl; host: string }> {
  const f = new FakeControl();
  const host = await f.start();
  t.teardown(() => f.stop());
  f.addService({ name });
  return { fake: f, host };
}

function api(
  t: Teardown,
  addresses: string[],
  options: ConstructorParameters<typeof GrpcControlApi>[1] = {},
): GrpcControlApi {
  const a = new GrpcControlApi(addresses, options);
  t.teardown(() => a.close());
  return a;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

const names = (services: Array<{ service?: { spec?: { name: string } } }>): string[] =>
  services.map((s) => s.service?.spec?.name ?? '');

test('a refused first address costs nothing noticeable', async (t) => {
  const { host } = await fake(t, 'web');
  const client = api(t, [await deadAddress(), host]);
  const { value, ms } = await timed(() => client.listServices());
  t.deepEqual(names(value), ['web']);
  t.true(ms < 1000, `took ${ms} ms`);
});

test('a first address that does not answer costs about 1 s, not the call deadline', async (t) => {
  const silent = await silentServer();
  t.teardown(() => silent.close());
  const { host } = await fake(t, 'web');
  const client = api(t, [silent.address, host]);
  const { value, ms } = await timed(() => client.listServices());
  t.deepEqual(names(value), ['web']);
  t.true(ms >= 900 && ms < 2500, `took ${ms} ms (connect deadline 1 s, call deadline 10 s)`);
  // The address that answered is asked first from then on.
  const again = await timed(() => client.listServices());
  t.true(again.ms < 500, `second call took ${again.ms} ms`);
});

test('no address answers: unreachable once the call deadline has passed', async (t) => {
  const [a, b] = [await silentServer(), await silentServer()];
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const client = api(t, [a.address, b.address], { label: 'a,b', deadlineMs: 2000 });
  const started = Date.now();
  const err = await t.throwsAsync(client.listNodes(), { instanceOf: UnreachableError });
  const ms = Date.now() - started;
  t.is(err?.message, 'cannot reach the manager at a,b (is it running? set --host or SHOAL_HOST)');
  t.true(ms >= 1900 && ms < 3500, `took ${ms} ms`);
});

test('a manager slow to connect is not given up after 1 s when it is the only one', async (t) => {
  const { host } = await fake(t, 'web');
  const proxy = await slowProxy(host, 1500);
  t.teardown(() => proxy.close());
  const client = api(t, [proxy.address]);
  const { value, ms } = await timed(() => client.listServices());
  t.deepEqual(names(value), ['web']);
  t.true(ms >= 1400, `took ${ms} ms`);
});

test('UNAVAILABLE "not the leader" / "no leader": the next address; the one that answered is kept', async (t) => {
  const { fake: follower, host: followerHost } = await fake(t, 'from-follower');
  follower.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'not the leader' });
  const { fake: lost, host: lostHost } = await fake(t, 'from-lost');
  lost.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'no leader\n(election running)' });
  const { fake: leader, host: leaderHost } = await fake(t, 'from-leader');
  const client = api(t, [followerHost, lostHost, leaderHost]);
  t.deepEqual(names(await client.listServices()), ['from-leader']);
  t.deepEqual(names(await client.listServices()), ['from-leader']);
  t.is(follower.count('listServices'), 1);
  t.is(lost.count('listServices'), 1);
  t.is(leader.count('listServices'), 2);

  // Nobody leads: the details of the last UNAVAILABLE (leader, follower, lost), one line, retryable.
  leader.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'no leader' });
  const err = await t.throwsAsync(client.listServices(), { instanceOf: ManagerError });
  t.is(err?.message, 'no leader (election running)');
  t.true(err?.retryable);
});

test('other errors are final: not retried elsewhere', async (t) => {
  const { fake: a, host: hostA } = await fake(t, 'a');
  const { fake: b, host: hostB } = await fake(t, 'b');
  const client = api(t, [hostA, hostB]);
  const err = await t.throwsAsync(client.getService('nope'), { instanceOf: ManagerError });
  t.is(err?.message, 'service "nope" not found');
  t.is(err?.code, grpcStatus.NOT_FOUND);
  t.false(err?.retryable);
  t.is(a.count('getService'), 1);
  t.is(b.count('getService'), 0);
});

test('the manager that answered dies: the next call goes to another one', async (t) => {
  const { fake: a, host: hostA } = await fake(t, 'a');
  const { host: hostB } = await fake(t, 'b');
  const client = api(t, [hostA, hostB]);
  t.deepEqual(names(await client.listServices()), ['a']);
  a.kill();
  const { value, ms } = await timed(() => client.listServices());
  t.deepEqual(names(value), ['b']);
  t.true(ms < 1000, `took ${ms} ms`);
});

test('a manager that connects but never answers: deadline error, and the next call starts elsewhere', async (t) => {
  const { fake: a, host: hostA } = await fake(t, 'a');
  a.hang.add('listServices');
  const { host: hostB } = await fake(t, 'b');
  const client = api(t, [hostA, hostB], { deadlineMs: 1000 });
  const err = await t.throwsAsync(client.listServices(), { instanceOf: ManagerError });
  t.is(err?.message, `the manager at ${hostA} did not answer within 1s`);
  t.true(err?.retryable);
  t.deepEqual(names(await client.listServices()), ['b']);
});

test('listManagers returns the managers as given', async (t) => {
  const { fake: f, host } = await fake(t, 'web');
  f.managers = [{ id: 'm1', address: '10.213.0.1:4242', leader: true, startedAtMs: 5 }];
  t.deepEqual(await api(t, [host]).listManagers(), f.managers);
});

// ------------------------------------------------------------------ events

const sink = (got: string[], notes: string[] = []) => ({
  event: (e: { subject: string }) => void got.push(e.subject),
  failover: (from: string, to: string, why: string) => void notes.push(`${from} -> ${to}: ${why}`),
});

test('events: an abort ends the stream, resolving; the manager sees it cancelled', async (t) => {
  const { fake: f, host } = await fake(t, 'web');
  const client = api(t, [host]);
  const got: string[] = [];
  const stop = new AbortController();
  const following = client.events({ types: ['service'], name: '' }, sink(got), stop.signal);
  await f.waitForEventStreams();
  f.emitEvent('shoal.events.service.web', {});
  f.emitEvent('shoal.events.task.web', {}); // filtered out by the fake, as by the relay
  await new Promise<void>((resolve) => {
    const check = (): void => void (got.length > 0 ? resolve() : setTimeout(check, 10));
    check();
  });
  stop.abort();
  await following;
  t.deepEqual(got, ['shoal.events.service.web']);
  await new Promise((r) => setTimeout(r, 100));
  t.is(f.eventStreams.size, 0);
});

test('events: an abort while the only address is still connecting ends it at once', async (t) => {
  const silent = await silentServer();
  t.teardown(() => silent.close());
  const client = api(t, [silent.address]);
  const stop = new AbortController();
  const following = client.events({ types: [], name: '' }, sink([]), stop.signal);
  setTimeout(() => stop.abort(), 200);
  const { ms } = await timed(() => following);
  t.true(ms < 600, `took ${ms} ms`);
});

test('events: a stream failing at once on one address is not a failover; the next address serves', async (t) => {
  const { fake: sick, host: sickHost } = await fake(t, 'web');
  sick.failures.set('events', { code: grpcStatus.UNAVAILABLE, details: 'events relay not ready' });
  const { fake: good, host: goodHost } = await fake(t, 'web');
  const client = api(t, [sickHost, goodHost]);
  const got: string[] = [];
  const notes: string[] = [];
  const stop = new AbortController();
  const following = client.events({ types: [], name: '' }, sink(got, notes), stop.signal);
  await good.waitForEventStreams();
  good.emitEvent('shoal.events.node.host1', {});
  await new Promise((r) => setTimeout(r, 100));
  stop.abort();
  await following;
  t.deepEqual(got, ['shoal.events.node.host1']);
  t.deepEqual(notes, []);
  t.is(sick.count('events'), 1);
});

test('events: a final code from a manager is not retried elsewhere', async (t) => {
  const { fake: a, host: hostA } = await fake(t, 'web');
  a.failures.set('events', { code: grpcStatus.INVALID_ARGUMENT, details: 'unknown event type "x"' });
  const { fake: b, host: hostB } = await fake(t, 'web');
  const client = api(t, [hostA, hostB]);
  const err = await t.throwsAsync(client.events({ types: ['x'], name: '' }, sink([]), new AbortController().signal));
  t.true(err instanceof ManagerError);
  t.is(err?.message, 'unknown event type "x"');
  t.is(b.count('events'), 0);
});
