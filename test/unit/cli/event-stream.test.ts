// cli/event-stream.ts: the events stream through GrpcControlApi.events in this process (abort,
// failing at once, final codes), then through the real cli/bin/shoal (a manager going away, a
// stream ended by the manager, failover to the next address, no manager at all).
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { adminTestCredentials } from '../../helpers/test-pki.js';
import { GrpcControlApi } from '../../../cli/client.js';
import { ManagerError } from '../../../cli/errors.js';
import { type FakeControl, startFake } from '../../helpers/fake-control.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { deadAddress, silentServer } from '../../helpers/ports.js';
import { lines, RunningShoal, shoal } from '../../helpers/run-shoal.js';

type Teardown = { teardown(fn: () => Promise<void> | void): void };

/** A client on `clock`, by default a ManualClock nobody moves: no connect timeout fires. */
function api(t: Teardown, addresses: string[], clock = new ManualClock()): GrpcControlApi {
  const a = new GrpcControlApi(addresses, { clock, credentials: adminTestCredentials });
  t.teardown(() => a.close());
  return a;
}

/** Collects the subjects delivered (`got`) and the failover notes; `first` resolves on the first event. */
function sink() {
  const got: string[] = [];
  const notes: string[] = [];
  let onFirst = (): void => {};
  const first = new Promise<void>((resolve) => (onFirst = resolve));
  return {
    got,
    notes,
    first,
    event: (e: { subject: string }) => {
      got.push(e.subject);
      onFirst();
    },
    failover: (from: string, to: string, why: string) => void notes.push(`${from} -> ${to}: ${why}`),
  };
}

test('events: an abort ends the stream, resolving; the manager sees it cancelled', async (t) => {
  const { fake: f, host } = await startFake(t);
  const client = api(t, [host]);
  const { got, first, ...events } = sink();
  const stop = new AbortController();
  const following = client.events({ types: ['service'], name: '' }, events, stop.signal);
  await f.waitForEventStreams();
  f.emitEvent('shoal.events.service.web', {});
  f.emitEvent('shoal.events.task.web', {}); // filtered out by the fake, as by the relay
  await first;
  stop.abort();
  await following;
  await f.waitForNoEventStreams(); // the manager's side saw the cancel
  t.deepEqual(got, ['shoal.events.service.web']);
  t.is(f.eventStreams.size, 0);
});

test('events: an abort while the only address is still connecting ends it at once', async (t) => {
  const silent = await silentServer();
  t.teardown(() => silent.close());
  const clock = new ManualClock();
  const client = api(t, [silent.address], clock);
  const stop = new AbortController();
  const following = client.events({ types: [], name: '' }, sink(), stop.signal);
  await clock.waitForTimers();
  t.deepEqual(clock.pending(), [1000], 'connecting, its connect timeout running');
  stop.abort();
  await following;
  t.is(clock.now(), 0, 'ended without waiting for the connect timeout');
});

test('events: a stream failing at once on one address is not a failover; the next address serves', async (t) => {
  const { fake: sick, host: sickHost } = await startFake(t);
  sick.failures.set('events', { code: grpcStatus.UNAVAILABLE, details: 'events relay not ready' });
  const { fake: good, host: goodHost } = await startFake(t);
  const client = api(t, [sickHost, goodHost]);
  const { got, notes, first, ...events } = sink();
  const stop = new AbortController();
  const following = client.events({ types: [], name: '' }, events, stop.signal);
  await good.waitForEventStreams();
  good.emitEvent('shoal.events.node.host1', {});
  await first;
  stop.abort();
  await following;
  t.deepEqual(got, ['shoal.events.node.host1']);
  t.deepEqual(notes, []);
  t.is(sick.count('events'), 1);
});

test('events: a final code from a manager is not retried elsewhere', async (t) => {
  const { fake: a, host: hostA } = await startFake(t);
  a.failures.set('events', { code: grpcStatus.INVALID_ARGUMENT, details: 'unknown event type "x"' });
  const { fake: b, host: hostB } = await startFake(t);
  const client = api(t, [hostA, hostB]);
  const err = await t.throwsAsync(client.events({ types: ['x'], name: '' }, sink(), new AbortController().signal));
  t.true(err instanceof ManagerError);
  t.is(err?.message, 'unknown event type "x"');
  t.is(b.count('events'), 0);
});

// ------------------------------------------------------------------ through shoal

const TIME = Date.parse('2026-12-01T10:00:00.123Z');
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

/** Starts `shoal args` and waits until `fake` has its Events stream open. */
async function follow(t: Teardown, fake: FakeControl, args: string[], host: string): Promise<RunningShoal> {
  const run = new RunningShoal(args, host);
  t.teardown(() => run.kill('SIGKILL'));
  await fake.waitForEventStreams();
  return run;
}

test('events: the manager going away ends it with one line and exit 1', async (t) => {
  const { fake, host } = await startFake(t);
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
  const { fake, host } = await startFake(t);
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
  const { fake: a, host: hostA } = await startFake(t);
  const { fake: b, host: hostB } = await startFake(t);
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
  const { fake, host } = await startFake(t);
  fake.failures.set('events', { code: grpcStatus.UNIMPLEMENTED, details: 'events are not available yet' });
  const dead = await deadAddress();
  const [unimplemented, unreachable] = await Promise.all([shoal(['events'], host), shoal(['events'], dead)]);
  t.is(unimplemented.code, 1);
  t.is(unimplemented.stderr, 'shoal: events are not available yet\n');
  t.is(unreachable.code, 1);
  t.is(unreachable.stderr, `shoal: cannot reach the manager at ${dead} (is it running? set --host or SHOAL_HOST)\n`);
});
