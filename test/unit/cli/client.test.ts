// cli/client.ts (GrpcControlApi) against fake Control servers on loopback: which address is
// tried when, and which timeout it gets. The connect timeouts run on a ManualClock: time
// passes only where a test says so (never on its own, however loaded the machine), and tests
// assert the timeouts used, never how long a call took.
// The last tests run the real cli/bin/shoal the same way a user would.
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { adminTestCredentials } from '../../helpers/test-pki.js';
import { GrpcControlApi } from '../../../cli/client.js';
import { ManagerError, UnreachableError } from '../../../cli/errors.js';
import { NODE1, NODE2, startFake } from '../../helpers/fake-control.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { deadAddress, heldProxy, silentServer } from '../../helpers/ports.js';
import { runInProcess, shoal } from '../../helpers/run-shoal.js';

type Teardown = { teardown(fn: () => Promise<void> | void): void };

async function fake(t: Teardown, name: string) {
  const started = await startFake(t);
  started.fake.addService({ name });
  return started;
}

/** A client on `options.clock`, by default a ManualClock nobody moves: no connect timeout fires. */
function api(
  t: Teardown,
  addresses: string[],
  options: ConstructorParameters<typeof GrpcControlApi>[1] = {},
): GrpcControlApi {
  const a = new GrpcControlApi(addresses, { clock: new ManualClock(), credentials: adminTestCredentials, ...options });
  t.teardown(() => a.close());
  return a;
}

async function silent(t: Teardown): Promise<string> {
  const server = await silentServer();
  t.teardown(() => server.close());
  return server.address;
}

const names = (services: Array<{ service?: { spec?: { name: string } } }>): string[] =>
  services.map((s) => s.service?.spec?.name ?? '');

test('a refused first address is skipped without waiting for its connect timeout', async (t) => {
  const { host } = await fake(t, 'web');
  const clock = new ManualClock();
  const client = api(t, [await deadAddress(), host], { clock });
  t.deepEqual(names(await client.listServices()), ['web']);
  t.is(clock.now(), 0, 'no time passed: the refusal alone moved on');
});

test('a first address that does not answer costs its 1 s connect timeout, not the call deadline', async (t) => {
  const { host } = await fake(t, 'web');
  const clock = new ManualClock();
  const client = api(t, [await silent(t), host], { clock });
  const call = client.listServices();
  await clock.waitForTimers();
  t.deepEqual(clock.pending(), [1000], 'the silent address gets the connect timeout');
  clock.advance();
  t.deepEqual(names(await call), ['web']);
  t.is(clock.now(), 1000, 'connect timeout 1 s, call deadline 10 s');
  // The address that answered is asked first from then on.
  t.deepEqual(names(await client.listServices()), ['web']);
  t.is(clock.now(), 1000, 'the second call waited for nothing');
});

test('no address answers: unreachable once the call deadline has passed', async (t) => {
  const clock = new ManualClock();
  const client = api(t, [await silent(t), await silent(t)], { label: 'a,b', deadlineMs: 2000, clock });
  const call = client.listNodes();
  for (const address of ['a', 'b']) {
    await clock.waitForTimers();
    t.deepEqual(clock.pending(), [1000], `${address}: the connect timeout`);
    clock.advance();
  }
  const err = await t.throwsAsync(call, { instanceOf: UnreachableError });
  t.is(err?.message, 'cannot reach the manager at a,b (is it running? set --host or SHOAL_HOST)');
  t.is(clock.now(), 2000, 'given up at the call deadline');
});

test('a manager slow to connect is not given up after 1 s when it is the only one', async (t) => {
  const { host } = await fake(t, 'web');
  const proxy = await heldProxy(host);
  t.teardown(() => proxy.close());
  const clock = new ManualClock();
  const client = api(t, [proxy.address], { clock });
  const call = client.listServices();
  await clock.waitForTimers();
  t.deepEqual(clock.pending(), [1000]);
  clock.advance(); // 1 s and still connecting
  await clock.waitForTimers();
  t.deepEqual(clock.pending(), [9000], 'it gets the rest of the 10 s deadline');
  proxy.release();
  t.deepEqual(names(await call), ['web']);
  t.is(clock.now(), 1000);
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

test('the manager that answered dies: the next call goes to another one, without a timeout', async (t) => {
  const { fake: a, host: hostA } = await fake(t, 'a');
  const { host: hostB } = await fake(t, 'b');
  const clock = new ManualClock();
  const client = api(t, [hostA, hostB], { clock });
  t.deepEqual(names(await client.listServices()), ['a']);
  a.kill();
  t.deepEqual(names(await client.listServices()), ['b']);
  t.is(clock.now(), 0, 'no connect timeout was waited out');
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

test('close: idempotent; a call after it is refused', async (t) => {
  const { host } = await fake(t, 'web');
  const client = new GrpcControlApi([host], { clock: new ManualClock(), credentials: adminTestCredentials });
  t.deepEqual(names(await client.listServices()), ['web']);
  await Promise.all([client.close(), client.close()]);
  await client.close();
  await t.throwsAsync(client.listServices(), { message: 'the manager channels are closed' });
});

// ------------------------------------------------------------------ through shoal

test('unreachable manager: one line naming the address, exit 1', async (t) => {
  const dead = await deadAddress();
  const r = await shoal(['node', 'ls'], dead);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, `shoal: cannot reach the manager at ${dead} (is it running? set --host or SHOAL_HOST)\n`);
});

test('unreachable manager, in process: no timeout is waited out', async (t) => {
  const dead = await deadAddress();
  const apiClock = new ManualClock();
  const r = await runInProcess(['node', 'ls'], dead, { apiClock });
  t.is(r.code, 1);
  t.is(r.stderr, `shoal: cannot reach the manager at ${dead} (is it running? set --host or SHOAL_HOST)\n`);
  t.is(apiClock.now(), 0, 'the 10 s call deadline did not pass');
});

test('several addresses: the next one is tried on UNAVAILABLE', async (t) => {
  const { host } = await startFake(t, [NODE2, NODE1]);
  const dead = await deadAddress();
  const r = await shoal(['--host', `${dead},${host}`, 'node', 'ls', '-q'], 'ignored:1');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${NODE1.id}\n${NODE2.id}\n`);
});

test('a manager answering UNAVAILABLE: failover, and its details when none answers', async (t) => {
  const { fake: sick, host: sickHost } = await startFake(t, [NODE2, NODE1]);
  sick.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'not the leader' });
  const { fake: good, host: goodHost } = await startFake(t, [NODE2, NODE1]);
  good.addService({ name: 'web' });
  const [failover, alone] = await Promise.all([
    shoal(['service', 'ls', '-q'], `${sickHost},${goodHost}`),
    shoal(['service', 'ls'], sickHost),
  ]);
  t.is(failover.code, 0, failover.stderr);
  t.is(failover.stdout, `${good.services[0]?.id}\n`);
  t.is(alone.code, 1);
  t.is(alone.stderr, 'shoal: not the leader\n');
});

test('a first address that does not answer: the answer comes from the next one', async (t) => {
  const { host } = await startFake(t, [NODE2, NODE1]);
  const address = await silent(t);
  const [r, baseline] = await Promise.all([
    shoal(['node', 'ls', '-q'], `${address},${host}`),
    shoal(['node', 'ls', '-q'], host),
  ]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, baseline.stdout);
});

test('a first address that does not answer, in process: 1 s (its connect timeout), not the 10 s deadline', async (t) => {
  const { host } = await startFake(t, [NODE2, NODE1]);
  const apiClock = new ManualClock();
  const run = runInProcess(['node', 'ls', '-q'], `${await silent(t)},${host}`, { apiClock });
  await apiClock.waitForTimers();
  t.deepEqual(apiClock.pending(), [1000]);
  apiClock.advance();
  const r = await run;
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${NODE1.id}\n${NODE2.id}\n`);
  t.is(apiClock.now(), 1000);
});
