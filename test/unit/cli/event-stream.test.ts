// cli/event-stream.ts: the events stream through GrpcControlApi.events in this process (abort,
// failing at once, final codes).
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { GrpcControlApi } from '../../../cli/client.js';
import { ManagerError } from '../../../cli/errors.js';
import { startFake } from '../../helpers/fake-control.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { silentServer } from '../../helpers/ports.js';

type Teardown = { teardown(fn: () => Promise<void> | void): void };

/** A client on `clock`, by default a ManualClock nobody moves: no connect timeout fires. */
function api(t: Teardown, addresses: string[], clock = new ManualClock()): GrpcControlApi {
  const a = new GrpcControlApi(addresses, { clock });
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
