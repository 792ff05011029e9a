// The agent's discovery cache (agent/discovery/cache.ts) fed by the real Endpoints stream of
// a FakeDispatcher: names watched on demand, the watch wait (on a manual clock), idle names,
// and the DNS server on top of it.
import dgram from 'node:dgram';
import test from 'ava';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { PortConfig, type Endpoint } from '../../../../proto/gen/shoal.js';
import { EndpointCache, WATCH_WAIT_MS } from '../../../../agent/discovery/cache.js';
import { DnsServer } from '../../../../agent/discovery/dns-server.js';
import { measured } from '../../../helpers/agent-support.js';
import { until } from '../../../helpers/until.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { QUERY_GUARD_MS } from '../../../helpers/dns.js';
import { dispatcher, ep, follow, ids } from '../../../helpers/endpoints.js';

test('a name not yet watched is watched on demand and answered within the wait; then served from the cache', async (t) => {
  const d = await dispatcher(t);
  d.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.2.2')] as Endpoint[] });
  const { cache } = await follow(t, d);
  await until(() => cache.serviceName('web') === 'web', 'service names');
  t.is(cache.serviceName('WEB'), 'web');
  t.is(cache.serviceName('nosuch'), null);
  t.deepEqual(d.endpointRequests[0]?.watch, [], 'nothing watched yet');

  const start = Date.now();
  const first = cache.lookup('web');
  t.true(first instanceof Promise, 'not cached: it waits');
  t.deepEqual(ids(await first), ['t1', 't2']);
  measured(t, 'discovery on-demand watch answered', Date.now() - start);
  t.deepEqual(d.endpointRequests.at(-1)?.watch, ['web']);
  t.false(cache.lookup('web') instanceof Promise, 'now from the cache');
  t.is(d.endpointRequests.length, 2, 'no second watch');

  d.setService({ name: 'web', endpoints: [ep('t2', '10.42.2.2'), ep('t3', '10.42.3.2')] as Endpoint[] });
  await until(() => ids(cache.get('web')).join() === 't2,t3', 'change pushed');
  d.removeService('web');
  await until(() => cache.get('web')?.exists === false && cache.serviceName('web') === null, 'removal: exists=false');
});

test('no answer within the wait (manager partitioned): undefined, i.e. SERVFAIL; UNIMPLEMENTED: at once', async (t) => {
  const d = await dispatcher(t);
  d.setService({ name: 'web' });
  d.holdWatches = true;
  const clock = new ManualClock();
  const { cache } = await follow(t, d, { watchWaitMs: 200, clock });
  await until(() => cache.serviceName('web') === 'web');
  let answer: unknown = 'waiting';
  const lookup = Promise.resolve(cache.lookup('web')).then((se) => (answer = se));
  await until(() => d.endpointRequests.some((r) => r.watch.includes('web')), 'the watch reached the manager');
  t.is(clock.next(), 200, 'the lookup waits watchWaitMs for the answer');
  clock.advance(199);
  await Promise.resolve();
  t.is(answer, 'waiting', 'not given up before the wait is over');
  clock.advance(1);
  await lookup;
  t.is(answer, undefined, 'no answer: undefined (DNS answers SERVFAIL)');
  t.is(WATCH_WAIT_MS, 500, 'the wait when not told otherwise');

  const old = await dispatcher(t);
  old.endpointsMode = 'unimplemented';
  const o = await follow(t, old);
  await until(() => o.lines.some((l) => l.includes('no Endpoints stream')));
  t.is(o.cache.lookup('web'), undefined, 'answered at once, not a wait: nothing will come');
});

function dig(port: number, name: string): Promise<DecodedPacket & { rcode?: string }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => reject(new Error('no answer')), QUERY_GUARD_MS);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(dnsPacket.encode({ type: 'query', id: 9, questions: [{ name, type: 'A' }] }), port, '127.0.0.1');
  });
}

test('DNS on the real cache: the first query of a service waits for its watch; no stream -> SERVFAIL, not NXDOMAIN', async (t) => {
  const d = await dispatcher(t);
  d.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.2.2')] as Endpoint[] });
  const { cache, stop } = await follow(t, d);
  const dns = new DnsServer({ source: cache, askers: { networksOf: () => 'all' }, upstreams: [] });
  t.teardown(() => dns.close());
  await dns.setListen([{ host: '127.0.0.1', port: 0 }]);
  const port = dns.addresses()[0]?.port ?? 0;
  await until(() => cache.serviceName('web') === 'web');
  const start = Date.now();
  const r = await dig(port, 'tasks.web');
  measured(t, 'dns first query of a service (watch + answer)', Date.now() - start);
  t.deepEqual((r.answers ?? []).map((a) => (a as { data: string }).data).sort(), ['10.42.1.2', '10.42.2.2']);
  t.is((await dig(port, 'nosuch')).rcode, 'NXDOMAIN');
  stop(); // the manager is gone: cached names still answer, others cannot be known
  t.is((await dig(port, 'web')).answers?.length, 2);
  d.setService({ name: 'db' });
  const fresh = new EndpointCache({ watchWaitMs: 100 });
  t.teardown(() => fresh.close());
  const lonely = new DnsServer({ source: fresh, askers: { networksOf: () => 'all' }, upstreams: [] });
  t.teardown(() => lonely.close());
  await lonely.setListen([{ host: '127.0.0.1', port: 0 }]);
  t.is((await dig(lonely.addresses()[0]?.port ?? 0, 'web')).rcode, 'SERVFAIL', 'never reached the manager');
});

test('names nobody asked for in 10 minutes are unwatched (ingress services stay cached)', (t) => {
  let now = 1_000_000;
  const cache = new EndpointCache({ now: () => now });
  t.teardown(() => cache.close());
  const sent: Array<{ watch: string[]; unwatch: string[] }> = [];
  const send = (req: { watch: string[]; unwatch: string[] }) => void sent.push(req);
  t.deepEqual(cache.attach(send), []);
  const edge = {
    name: 'edge',
    exists: true,
    networks: [],
    ports: [PortConfig.fromPartial({ targetPort: 80, publishedPort: 8080 })],
    endpoints: [],
    index: 1,
  };
  const web = { name: 'web', exists: true, networks: [], ports: [], endpoints: [], index: 1 };
  cache.apply({ services: [edge, web], hasServiceNames: true, serviceNames: ['edge', 'web'] }, send);
  void cache.lookup('web');
  void cache.lookup('edge');
  t.deepEqual(sent, [
    { watch: ['web'], unwatch: [] },
    { watch: ['edge'], unwatch: [] },
  ]);
  now += 9 * 60_000;
  void cache.lookup('web');
  now += 2 * 60_000;
  cache.sweepIdle();
  t.deepEqual(sent.at(-1), { watch: [], unwatch: ['edge'] });
  t.deepEqual(cache.watchedNames(), ['web']);
  t.truthy(cache.get('edge'), 'an ingress service is still needed by the routing mesh');
  now += 10 * 60_000;
  cache.sweepIdle();
  t.deepEqual(sent.at(-1), { watch: [], unwatch: ['web'] });
  t.is(cache.get('web'), undefined);
  t.deepEqual(cache.attach(send), [], 'a new stream watches nothing stale');
});
