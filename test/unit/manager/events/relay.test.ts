// EventRelay against a real nats-server on a free loopback port: filters, fan-out,
// unsubscribing, closing, and a NATS that comes late or restarts.
import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import { randomBytes } from 'node:crypto';
import { natsOptions, type NatsAuth } from '../../../../manager/config/connections.js';
import type { Event, EventsRequest } from '../../../../proto/gen/shoal.js';
import { EventRelay } from '../../../../manager/events/relay.js';
import { subjects } from '../../../../manager/events/subjects.js';
import { startNats, type Started } from '../../../helpers/control-plane.js';
import { freePort } from '../../../helpers/ports.js';
import { turns, until } from '../../../helpers/until.js';

type Teardown = { teardown(fn: () => unknown): void };

/** Every server of this file takes this password, so clients made before a server (or kept across a restart) get in. */
const PASSWORD = randomBytes(16).toString('hex');
const AUTH: NatsAuth = { user: 'shoal', pass: PASSWORD };

async function natsServer(t: Teardown, port?: number): Promise<Started> {
  const nats = await startNats('shoal-relay-', port, PASSWORD);
  t.teardown(() => nats.close());
  return nats;
}

async function publisher(t: Teardown, url: string): Promise<NatsConnection> {
  const nc = await connect({
    ...natsOptions(AUTH),
    servers: url,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  t.teardown(() => nc.close());
  return nc;
}

function relayFor(t: Teardown, url: string): { relay: EventRelay; logs: string[] } {
  const logs: string[] = [];
  const relay = new EventRelay(url, (l) => logs.push(l), AUTH);
  t.teardown(() => relay.close());
  return { relay, logs };
}

/** A follower that records what it gets. */
function recorder(): { events: Event[]; errors: Error[]; write: (e: Event) => void; onError: (err: Error) => void } {
  const events: Event[] = [];
  const errors: Error[] = [];
  return { events, errors, write: (e) => events.push(e), onError: (err) => errors.push(err) };
}

/** Publishes probes until `seen` has one: the relay's subscription is then in place. */
async function subscribed(nc: NatsConnection, seen: () => Event[]): Promise<void> {
  const probe = subjects.service('probe');
  await until(() => seen().some((e) => e.subject === probe), 'the relay to subscribe', {
    pollMs: 25,
    tick: () => nc.publish(probe, '{}'),
  });
}

const req = (over: Partial<EventsRequest> = {}): EventsRequest => ({ types: [], name: '', ...over });

test('filters by types and name; each follower gets its own; events carry type, subject, time and the text as published', async (t) => {
  const { url } = await natsServer(t);
  const nc = await publisher(t, url);
  const { relay } = relayFor(t, url);
  const tasksAndHealth = recorder();
  const myApp = recorder();
  const host1Nodes = recorder();
  const all = recorder(); // followed last: once it has an event, the others have been given it
  relay.follow(req({ types: ['task', 'health'] }), tasksAndHealth.write, tasksAndHealth.onError);
  relay.follow(req({ name: 'my.app' }), myApp.write, myApp.onError);
  relay.follow(req({ types: ['node'], name: 'host1' }), host1Nodes.write, host1Nodes.onError);
  relay.follow(req(), all.write, all.onError);
  await subscribed(nc, () => all.events);
  all.events.length = 0;

  const before = Date.now();
  const published: Array<[string, string]> = [
    [subjects.task('web'), '{"type":"updated","task":"t1", "slot":1}'],
    [subjects.health('my.app'), '{"health":"healthy"}'],
    [subjects.node('host1'), '{"type":"updated","hostname":"host1"}'],
    [subjects.node('host2'), '{"type":"updated","hostname":"host2"}'],
    [subjects.service('my.app'), '{"type":"created","name":"my.app"}'],
    ['shoal.events.endpoint.web', '{"type":"registered"}'],
    [subjects.task('my_app_other'), '{}'],
  ];
  for (const [subject, text] of published) nc.publish(subject, text);
  await nc.flush();
  await until(() => all.events.length === published.length, 'every event');
  const after = Date.now();

  t.deepEqual(
    all.events.map((e) => [e.type, e.subject, e.payloadJson]),
    published.map(([subject, text]) => [subject.split('.')[2], subject, text]),
  );
  t.true(all.events.every((e) => e.timeMs >= before && e.timeMs <= after));
  const subjectsOf = (r: { events: Event[] }) => r.events.map((e) => e.subject);
  t.deepEqual(subjectsOf(tasksAndHealth), [
    'shoal.events.task.web',
    'shoal.events.health.my_app',
    'shoal.events.task.my_app_other',
  ]);
  t.deepEqual(subjectsOf(myApp), ['shoal.events.health.my_app', 'shoal.events.service.my_app']);
  t.deepEqual(subjectsOf(host1Nodes), ['shoal.events.node.host1']);
  t.deepEqual([...tasksAndHealth.errors, ...myApp.errors, ...host1Nodes.errors, ...all.errors], []);
});

test('unsubscribing stops one follower; the last one leaving and a new one coming back works', async (t) => {
  const { url } = await natsServer(t);
  const nc = await publisher(t, url);
  const { relay } = relayFor(t, url);
  const a = recorder();
  const b = recorder();
  const stopA = relay.follow(req(), a.write, a.onError);
  const stopB = relay.follow(req(), b.write, b.onError);
  await subscribed(nc, () => b.events);
  stopA();
  stopA(); // idempotent
  const countA = a.events.length;
  nc.publish(subjects.service('web'), '{"n":1}');
  await until(() => b.events.some((e) => e.payloadJson === '{"n":1}'), 'b to get it');
  t.is(a.events.length, countA);

  stopB(); // nobody follows now
  const countB = b.events.length;
  const c = recorder();
  relay.follow(req(), c.write, c.onError);
  await subscribed(nc, () => c.events);
  t.is(b.events.length, countB);
  t.deepEqual([...a.errors, ...b.errors, ...c.errors], []);
});

test('a follower whose write throws is ended with that error; the others go on', async (t) => {
  const { url } = await natsServer(t);
  const nc = await publisher(t, url);
  const { relay } = relayFor(t, url);
  const errors: Error[] = [];
  let calls = 0;
  relay.follow(
    req(),
    () => {
      calls++;
      throw new Error('stream gone');
    },
    (err) => errors.push(err),
  );
  const ok = recorder();
  relay.follow(req(), ok.write, ok.onError);
  await subscribed(nc, () => ok.events);
  nc.publish(subjects.service('web'), '{}');
  await until(() => ok.events.length >= 2, 'two events');
  t.is(calls, 1);
  t.deepEqual(
    errors.map((e) => e.message),
    ['stream gone'],
  );
  t.deepEqual(ok.errors, []);
});

test('close ends every follower once; following a closed relay ends at once; close is idempotent', async (t) => {
  const { url } = await natsServer(t);
  const nc = await publisher(t, url);
  const { relay } = relayFor(t, url);
  const a = recorder();
  const b = recorder();
  relay.follow(req(), a.write, a.onError);
  relay.follow(req({ types: ['node'] }), b.write, b.onError);
  await subscribed(nc, () => a.events);
  await relay.close();
  await relay.close();
  t.deepEqual(
    a.errors.map((e) => e.message),
    ['this manager is stopping'],
  );
  t.deepEqual(
    b.errors.map((e) => e.message),
    ['this manager is stopping'],
  );
  const late = recorder();
  const stop = relay.follow(req(), late.write, late.onError);
  await turns(1);
  t.deepEqual(
    late.errors.map((e) => e.message),
    ['this manager is stopping'],
  );
  stop();
  const count = a.events.length;
  nc.publish(subjects.service('web'), '{}');
  await nc.flush();
  await turns(); // the relay's connection is closed: nothing can arrive on it any more
  t.is(a.events.length, count);
});

test('connects lazily, waits for a NATS that comes late, and follows again after NATS restarts', async (t) => {
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const { relay, logs } = relayFor(t, url);
  t.deepEqual(logs, []); // nothing before the first follow
  const r = recorder();
  relay.follow(req({ types: ['service'] }), r.write, r.onError);
  await until(() => logs.some((l) => l.includes('cannot connect')), 'a failed first attempt');

  const first = await natsServer(t, port);
  const nc = await publisher(t, url);
  await subscribed(nc, () => r.events);
  t.true(logs.some((l) => l === `events relay: connected to NATS at ${url}`));

  await first.close();
  await natsServer(t, port); // the same address, a new server
  const n = r.events.length;
  await subscribed(nc, () => r.events.slice(n));
  t.deepEqual(r.errors, []);
});

test('a relay that never reached NATS closes at once, between two connection attempts', async (t) => {
  const { relay, logs } = relayFor(t, `nats://127.0.0.1:${await freePort()}`);
  const r = recorder();
  relay.follow(req(), r.write, r.onError);
  await until(() => logs.some((l) => l.includes('cannot connect')), 'a failed first attempt');
  const started = performance.now();
  await relay.close(); // ends the wait before the next attempt
  t.log(`measured: close() took ${(performance.now() - started).toFixed(1)} ms`);
  t.deepEqual(
    r.errors.map((e) => e.message),
    ['this manager is stopping'],
  );
});
