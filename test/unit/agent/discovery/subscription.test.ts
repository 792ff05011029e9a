// The Endpoints stream of a session (agent/discovery/subscription.ts): a reopened stream
// re-watches every name and replaces what the old one said (the stale grace on a manual
// clock); a failover through the agent's session carries the watched names over.
import test from 'ava';
import { PortConfig, type Endpoint } from '../../../../proto/gen/shoal.js';
import { Agent } from '../../../../agent/agent.js';
import { EndpointCache } from '../../../../agent/discovery/cache.js';
import { EndpointsSubscription } from '../../../../agent/discovery/subscription.js';
import { until } from '../../../helpers/until.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { dispatcher, ep, follow, ids } from '../../../helpers/endpoints.js';
import { FakeExecutor } from '../../../helpers/fake-executor.js';

test('a reopened stream re-watches every name and its answers replace the old ones: nothing stale survives', async (t) => {
  const d = await dispatcher(t);
  const ingress = [PortConfig.fromPartial({ protocol: 'tcp', targetPort: 80, publishedPort: 8080 })];
  d.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2')] as Endpoint[] });
  d.setService({ name: 'old', endpoints: [ep('o1', '10.42.1.9')] as Endpoint[] });
  d.setService({ name: 'edge', ports: ingress, endpoints: [ep('e1', '10.42.1.5')] as Endpoint[] });
  d.setService({ name: 'quiet', endpoints: [ep('q1', '10.42.1.6')] as Endpoint[] });
  const clock = new ManualClock(); // the stale grace ends only when the test says
  const { cache, sub } = await follow(t, d, { staleGraceMs: 200, clock });
  await until(() => cache.get('edge') !== undefined, 'ingress service sent unasked');
  t.deepEqual(ids(await cache.lookup('web')), ['t1']);
  t.deepEqual(ids(await cache.lookup('old')), ['o1']);
  t.deepEqual(ids(await cache.lookup('quiet')), ['q1']);

  // The manager restarts with a different truth (changes it never pushed to the old stream).
  d.breakEndpointStreams();
  d.catalog.delete('old');
  d.catalog.set('web', {
    ...d.lookupService('web'),
    endpoints: d.lookupService('web').endpoints.map((e) => ({ ...e, taskId: 't9' })),
  });
  d.catalog.set('edge', { ...d.lookupService('edge'), ports: [] });
  d.unanswered.add('quiet'); // still a service, but the new manager does not answer it (yet)

  await until(() => sub.opened === 2, 'stream reopened');
  await until(() => d.endpointRequests.length >= 5);
  t.deepEqual(
    [...(d.endpointRequests.at(-1)?.watch ?? [])].sort(),
    ['old', 'quiet', 'web'],
    'the first request re-watches everything',
  );
  await until(() => ids(cache.get('web')).join() === 't9', 'replaced');
  t.is(cache.get('old')?.exists ?? false, false, 'a service gone from the name list goes at once');
  t.deepEqual(ids(cache.get('old')), []);
  t.is(cache.serviceName('old'), null);
  t.truthy(cache.get('edge'), 'not yet: unconfirmed entries live until the grace ends');
  t.truthy(cache.get('quiet'));
  t.deepEqual(clock.pending(), [200], "the grace, from the new stream's first message");
  clock.advance(200);
  t.is(cache.get('edge'), undefined, 'unconfirmed entries dropped');
  t.is(cache.get('quiet'), undefined);
  t.deepEqual(ids(cache.get('web')), ['t9']);
});

test("failover through the session: a new manager's stream replaces what the old one said", async (t) => {
  const d1 = await dispatcher(t);
  const d2 = await dispatcher(t);
  for (const d of [d1, d2]) d.tasks.set('node1', []);
  d1.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.2.2')] as Endpoint[] });
  d2.setService({ name: 'web', endpoints: [ep('t2', '10.42.2.2')] as Endpoint[] });
  d2.leader = false;
  const cache = new EndpointCache();
  t.teardown(() => cache.close());
  const agent = new Agent({
    managers: [d1.address, d2.address],
    joinToken: 't',
    hostname: 'host1',
    labels: {},
    executor: new FakeExecutor(),
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    endpoints: new EndpointsSubscription({ cache, retryMs: 50 }),
  });
  t.teardown(() => agent.close());
  agent.start();
  await until(() => cache.serviceName('web') === 'web', 'first stream');
  t.deepEqual(ids(await cache.lookup('web')), ['t1', 't2']);
  d2.leader = true;
  d1.stepDown();
  await until(() => d2.endpointStreamCount() === 1, 'stream on the new leader');
  t.deepEqual(d2.watchedNames(), [['web']], 'watched names carried over');
  await until(() => ids(cache.get('web')).join() === 't2', "the new leader's answer");
});

/** The fake executor, with container stops held at a gate (to see what happens before one). */
