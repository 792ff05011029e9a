// The Consul-shaped HTTP API over real HTTP on 127.0.0.1:0, against a fake EndpointView:
// the shapes, the refusals, listening. Blocking queries: consul-api-blocking.test.ts.
import test from 'ava';
import net from 'node:net';
import { ConsulHttpApi } from '../../../../manager/http/consul-api.js';
import { onlyPassing, healthEntries } from '../../../../manager/http/consul-shape.js';
import { endpoint, FakeView, webView } from '../../../helpers/fake-endpoint-view.js';
import { json, request, startConsulApi as start } from '../../../helpers/http.js';

// ------------------------------------------------------------------ shapes

test('health/service: Consul entries sorted by node then task, with the headers', async (t) => {
  const view = webView();
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const r = await request(base, '/v1/health/service/web');
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/json');
  t.is(r.headers['x-consul-index'], String(view.index));
  t.is(r.headers['x-consul-knownleader'], 'true');
  t.is(r.headers['x-consul-lastcontact'], '0');
  const entries = json(r) as { Service: { ID: string } }[];
  t.deepEqual(
    entries.map((e) => e.Service.ID),
    ['task-1', 'task-2', 'task-3'],
  );
  t.deepEqual(entries[0], {
    Node: { ID: 'id-host1', Node: 'host1', Address: '192.168.0.1', Datacenter: 'shoal', TaggedAddresses: {}, Meta: {} },
    Service: {
      ID: 'task-1',
      Service: 'web',
      Tags: [],
      Address: '10.42.1.1', // no address on backend (the first network): the next one
      Port: 80,
      Meta: { task: 'task-1', slot: '1', node_id: 'id-host1' },
      TaggedAddresses: { shoal: { Address: '10.42.1.1', Port: 80 } },
    },
    Checks: [
      {
        Node: 'host1',
        CheckID: 'serfHealth',
        Name: 'Serf Health Status',
        Status: 'passing',
        ServiceID: '',
        ServiceName: '',
      },
    ],
  });
  t.deepEqual(entries[2], {
    Node: { ID: 'id-host2', Node: 'host2', Address: '192.168.0.2', Datacenter: 'shoal', TaggedAddresses: {}, Meta: {} },
    Service: {
      ID: 'task-3',
      Service: 'web',
      Tags: [],
      Address: '10.50.2.3', // on backend, the service's first network
      Port: 80,
      Meta: { task: 'task-3', slot: '3', node_id: 'id-host2' },
      TaggedAddresses: { shoal: { Address: '10.42.2.3', Port: 80 }, backend: { Address: '10.50.2.3', Port: 80 } },
    },
    Checks: [
      {
        Node: 'host2',
        CheckID: 'serfHealth',
        Name: 'Serf Health Status',
        Status: 'passing',
        ServiceID: '',
        ServiceName: '',
      },
      {
        Node: 'host2',
        CheckID: 'service:task-3',
        Name: "Service 'web' check",
        Status: 'passing',
        ServiceID: 'task-3',
        ServiceName: 'web',
        Output: 'docker health check passing',
      },
    ],
  });
});

test('health/service?passing keeps entries whose checks all pass', async (t) => {
  const { api, base } = await start(webView());
  t.teardown(() => api.close());
  for (const q of ['?passing', '?passing=', '?passing=true', '?passing=1']) {
    const r = await request(base, `/v1/health/service/web${q}`);
    t.is(r.status, 200, q);
    t.is((json(r) as unknown[]).length, 3, q);
  }
  t.is((await request(base, '/v1/health/service/web?passing=false')).status, 200);
  const bad = await request(base, '/v1/health/service/web?passing=maybe');
  t.is(bad.status, 400);
  t.regex(bad.body, /^invalid passing "maybe"/);
  // the filter itself: an entry with a failing check goes
  const entries = healthEntries(webView().lookup('web'));
  entries[1]!.Checks[0]!.Status = 'critical';
  t.deepEqual(
    onlyPassing(entries).map((e) => e.Service.ID),
    ['task-1', 'task-3'],
  );
});

test('catalog/service: the flat shape', async (t) => {
  const view = webView();
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const r = await request(base, '/v1/catalog/service/web');
  t.is(r.status, 200);
  t.is(r.headers['x-consul-index'], String(view.index));
  const entries = json(r) as Record<string, unknown>[];
  t.is(entries.length, 3);
  t.deepEqual(entries[1], {
    ID: 'id-host1',
    Node: 'host1',
    Address: '192.168.0.1',
    Datacenter: 'shoal',
    TaggedAddresses: {},
    NodeMeta: {},
    ServiceID: 'task-2',
    ServiceName: 'web',
    ServiceAddress: '10.50.1.2',
    ServicePort: 80,
    ServiceTags: [],
    ServiceMeta: { task: 'task-2', slot: '2', node_id: 'id-host1' },
    ServiceTaggedAddresses: { shoal: { Address: '10.42.1.2', Port: 80 }, backend: { Address: '10.50.1.2', Port: 80 } },
  });
});

test('catalog/services lists every name; status/leader is the leader or ""', async (t) => {
  const view = webView();
  view.set('api', ['shoal'], []);
  const { api, base, setLeader } = await start(view);
  t.teardown(() => api.close());
  const s = await request(base, '/v1/catalog/services');
  t.is(s.status, 200);
  t.deepEqual(json(s), { api: [], web: [] });
  t.is(s.headers['x-consul-index'], String(view.index));

  const l = await request(base, '/v1/status/leader');
  t.is(l.status, 200);
  t.is(l.body, '"10.0.0.1:4242"');
  t.is(l.headers['x-consul-knownleader'], 'true');
  setLeader('');
  const none = await request(base, '/v1/status/leader');
  t.is(none.body, '""');
  t.is(none.headers['x-consul-knownleader'], 'false');
  t.truthy(Number(none.headers['x-consul-index']) >= 1);
});

test('an unknown service is [] with 200, names are URL-decoded, ?pretty indents', async (t) => {
  const view = webView();
  view.set('web-api', ['shoal'], [endpoint('task-9', 'host3', { shoal: '10.42.3.9' })]);
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  for (const route of ['health', 'catalog']) {
    const r = await request(base, `/v1/${route}/service/nope`);
    t.is(r.status, 200);
    t.is(r.body, '[]');
    t.truthy(Number(r.headers['x-consul-index']) >= 1);
  }
  const d = await request(base, '/v1/health/service/web%2Dapi');
  t.deepEqual(
    (json(d) as { Service: { ID: string } }[]).map((e) => e.Service.ID),
    ['task-9'],
  );
  const p = await request(base, '/v1/catalog/services?pretty');
  t.is(p.body, '{\n    "web": [],\n    "web-api": []\n}\n');
});

test('an empty catalog still answers X-Consul-Index >= 1', async (t) => {
  const view = new FakeView();
  view.index = 0;
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const r = await request(base, '/v1/health/service/web');
  t.is(r.headers['x-consul-index'], '1');
});

// ------------------------------------------------------------------ refusals

test('405 with Allow: GET, 404 for unknown paths and names with a slash, 400 for a missing name', async (t) => {
  const { api, base } = await start(webView());
  t.teardown(() => api.close());
  for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
    const r = await request(base, '/v1/health/service/web', method);
    t.is(r.status, 405, method);
    t.is(r.headers['allow'], 'GET');
  }
  for (const path of [
    '/',
    '/v1/kv/x',
    '/v1/catalog/services/',
    '/v1/health/service/a/b',
    '/v1/health/service/a%2Fb',
    '/v1/catalog/service/a%2fb',
  ]) {
    const r = await request(base, path);
    t.is(r.status, 404, path);
    t.regex(r.body, /^no such endpoint: \S+\n$/, path);
  }
  const missing = await request(base, '/v1/health/service/');
  t.is(missing.status, 400);
  t.is((await request(base, '/v1/health/service/%E0%A4%A')).status, 400);
});

test('bad wait or index is 400 naming the parameter', async (t) => {
  const { api, base } = await start(webView());
  t.teardown(() => api.close());
  for (const q of ['?index=11&wait=soon', '?index=11&wait=10', '?wait=5x', '?index=11&wait=-1s']) {
    const r = await request(base, `/v1/health/service/web${q}`);
    t.is(r.status, 400, q);
    t.regex(r.body, /^invalid wait ".*": expected a duration like 10s, 500ms or 1m30s\n$/, q);
  }
  const i = await request(base, '/v1/catalog/services?index=-1');
  t.is(i.status, 400);
  t.regex(i.body, /^invalid index "-1"/);
});

test('503 with a one-line message while the catalog is not loaded', async (t) => {
  const view = webView();
  view.loaded = false;
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  for (const path of ['/v1/health/service/web', '/v1/catalog/service/web', '/v1/catalog/services']) {
    const r = await request(base, path);
    t.is(r.status, 503, path);
    t.regex(r.body, /^[^\n]+\n$/);
  }
  t.is((await request(base, '/v1/status/leader')).status, 200); // the leader is not the catalog's
});

// ------------------------------------------------------------------ listen

test('listen: port 0 gives the bound address; a taken address is a clear error', async (t) => {
  const { api, base } = await start(webView());
  t.teardown(() => api.close());
  t.regex(base, /^127\.0\.0\.1:\d+$/);
  t.not(base, '127.0.0.1:0');
  const other = new ConsulHttpApi({ view: webView(), leaderAddress: () => '', log: () => {} });
  const err = await t.throwsAsync(other.listen(base));
  t.is(err?.message, `consul http api: cannot listen on ${base}: address already in use`);
  await t.throwsAsync(other.listen('nonsense'), { message: /invalid listen address "nonsense"/ });
  await other.close();
  // a plain TCP client gets nothing odd from the server either: it is still serving
  const c = net.connect(Number(base.split(':')[1]), '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  c.destroy();
  t.is((await request(base, '/v1/status/leader')).status, 200);
});
