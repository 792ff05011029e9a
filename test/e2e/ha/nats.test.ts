// NATS lost (bed: up --managers 3 --etcd 3, which runs its own nats-server): only events stop;
// create, scale, ps and rm work as before. NATS back: events flow again, everything goes on.
import test from 'ava';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bedNatsOptions,
  HTTPD,
  IMAGE,
  countPerHost,
  each,
  localCluster,
  localClusterOk,
  measured,
  removeService,
  requireBed,
  shoalOk,
  sum,
  tasks,
  timeUntil,
  uniqueName,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

interface Event {
  subject: string;
  data: Record<string, unknown>;
  at: number;
}

const codec = JSONCodec<Record<string, unknown>>();
let nc: NatsConnection | undefined;
const events: Event[] = [];

test.before(async () => {
  requireBed({ etcd: 1 });
  await waitNodesReady();
  // reconnect for ever, quickly: the test's own subscriber must outlive the outage
  nc = await connect({
    ...bedNatsOptions(),
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
    name: 'shoal-e2e',
  });
  const sub = nc.subscribe('shoal.events.>');
  void (async () => {
    for await (const m of sub) {
      let data: Record<string, unknown> = {};
      try {
        data = codec.decode(m.data);
      } catch {
        // not JSON: keep the subject
      }
      events.push({ subject: m.subject, data, at: Date.now() });
    }
  })();
});

test.after.always(async () => {
  await localCluster('start-nats');
  await nc?.close();
});

const about = (name: string, since: number): Event[] =>
  events.filter((e) => e.at >= since && e.subject.endsWith(`.${name}`));

test.serial('stop-nats: create, scale, ps and rm work as before; start-nats: events flow again', async (t) => {
  const name = uniqueName('nats');
  const other = uniqueName('nats-b');
  try {
    const t0 = Date.now();
    await shoalOk('service', 'create', '--name', name, '--replicas', '3', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    await timeUntil(async () => about(name, t0).length > 0, 10_000, `an event about ${name}`);
    t.pass('events arrive while NATS runs');

    await localClusterOk('stop-nats');
    const t1 = Date.now();
    await shoalOk('service', 'scale', `${name}=6`);
    measured(t, 'NATS down: scale 3 -> 6 converged', Date.now() - t1);
    t.deepEqual(
      await waitForValue(() => countPerHost(name), each(2), 30_000),
      each(2),
      'scale with NATS down: two per host',
    );
    const t2 = Date.now();
    await shoalOk(
      'service',
      'create',
      '--name',
      other,
      '--replicas',
      '3',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...HTTPD,
    );
    measured(t, 'NATS down: create of 3 converged', Date.now() - t2);
    t.deepEqual(
      await waitForValue(() => countPerHost(other), each(1), 30_000),
      each(1),
      'create with NATS down: one per host',
    );
    t.is((await tasks(name)).filter((r) => r.state === 'running').length, 6, 'service ps with NATS down');
    await removeService(other);
    t.is(sum(await countPerHost(other, { all: true })), 0, 'rm with NATS down');

    await localClusterOk('start-nats');
    const back = Date.now();
    await timeUntil(
      async () =>
        !nc?.isClosed() &&
        (await nc!.flush().then(
          () => true,
          () => false,
        )),
      20_000,
      'the test subscriber reconnected',
    );
    // a change after another until one is published: the manager reconnects on its own schedule
    let replicas = 6;
    const flowing = await timeUntil(
      async () => {
        const since = Date.now();
        replicas = replicas === 6 ? 5 : 6;
        await shoalOk('service', 'scale', `${name}=${replicas}`);
        await sleep(500);
        return about(name, since).length > 0 ? true : undefined;
      },
      30_000,
      `events about ${name} again after start-nats`,
      { since: back, intervalMs: 0 },
    );
    measured(t, 'start-nats -> events flow again', flowing.ms);
    t.deepEqual(
      await waitForValue(async () => sum(await countPerHost(name)), replicas, 30_000),
      replicas,
      'and scaling goes on',
    );
  } finally {
    await localCluster('start-nats');
    await removeService(other);
    await removeService(name);
  }
});
