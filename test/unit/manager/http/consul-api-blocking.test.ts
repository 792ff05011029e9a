// Blocking queries of the Consul-shaped HTTP API over real HTTP, against a fake view whose
// waits run on a clock the test moves: a query is answered by the change it waited for,
// by its wait running out (the deadline asked of the view is the one the client gave), by
// close(); a client that goes away leaves no wait behind. No assertion on elapsed time.
import test from 'ava';
import http from 'node:http';
import { WAIT_SLICE_MS } from '../../../../manager/http/blocking.js';
import { endpoint, webView } from '../../../helpers/fake-endpoint-view.js';
import { json, request, startConsulApi as start } from '../../../helpers/http.js';
import { turns, until } from '../../../helpers/until.js';

test('a blocking query is answered by the change it waits for, with the new index', async (t) => {
  const view = webView();
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const index = view.index;
  const pending = request(base, `/v1/health/service/web?index=${index}&wait=10s`);
  await until(() => view.pendingWaits === 1, 'the query waits on the view');
  t.deepEqual(view.asked, [WAIT_SLICE_MS], 'a 10 s wait asks the view for one slice at a time');
  const changedAt = performance.now();
  view.set('web', ['shoal'], [endpoint('task-7', 'host3', { shoal: '10.42.3.7' })]);
  const r = await pending;
  t.log(`measured: answered ${(performance.now() - changedAt).toFixed(1)} ms after the change`);
  t.deepEqual(view.ended, ['change'], 'the change ended the wait, not its timeout');
  t.is(r.headers['x-consul-index'], String(index + 1));
  t.deepEqual(
    (json(r) as { Service: { ID: string } }[]).map((e) => e.Service.ID),
    ['task-7'],
  );
});

test('a blocking query on catalog/services wakes on a new name, and on removal', async (t) => {
  const view = webView();
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const first = await request(base, '/v1/catalog/services');
  const pending = request(base, `/v1/catalog/services?index=${String(first.headers['x-consul-index'])}&wait=10s`);
  await until(() => view.pendingWaits === 1, 'the query waits on the view');
  view.set('db', ['shoal'], []);
  const r = await pending;
  t.deepEqual(json(r), { db: [], web: [] });
  const again = request(base, `/v1/catalog/services?index=${String(r.headers['x-consul-index'])}&wait=10s`);
  await until(() => view.pendingWaits === 1, 'the second query waits on the view');
  view.remove('db');
  t.deepEqual(json(await again), { web: [] });
  t.deepEqual(view.ended, ['change', 'change']);
});

test('a blocking query that sees no change answers once its wait is over, with the same index', async (t) => {
  const view = webView();
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const index = view.index;
  let answered = false;
  const pending = request(base, `/v1/catalog/service/web?index=${index}&wait=150ms`).finally(() => (answered = true));
  await until(() => view.pendingWaits === 1, 'the query waits on the view');
  t.deepEqual(view.asked, [150], 'the view is asked to wait what the client gave');
  view.clock.advance(149);
  await turns();
  t.false(answered, 'not before the wait is over');
  t.is(view.pendingWaits, 1);
  view.clock.advance(1);
  const r = await pending;
  t.deepEqual(view.ended, ['timeout']);
  t.is(r.status, 200);
  t.is(r.headers['x-consul-index'], String(index));
  t.is((json(r) as unknown[]).length, 3);
});

test('a client that goes away leaves no wait behind', async (t) => {
  const view = webView(20); // every view wait ends after 20 ms of the view's clock, so a leaked loop would call again
  const { api, base } = await start(view);
  t.teardown(() => api.close());
  const req = http.get(`http://${base}/v1/health/service/web?index=${view.index}&wait=10m`, { agent: false });
  req.on('error', () => {});
  await until(() => view.pendingWaits === 1, 'the query waits on the view');
  view.clock.advance(20);
  await until(() => view.waitCalls === 2 && view.pendingWaits === 1, 'the query waits again after a slice');
  req.destroy();
  await until(() => api.pendingQueries === 0, 'the server saw the client go');
  const after = view.waitCalls;
  view.clock.advance(20); // the last view wait ends
  await turns();
  view.clock.advance(20);
  await turns();
  t.is(view.waitCalls, after, 'no new view wait after the client left');
  t.is(view.pendingWaits, 0);
});

test('close() answers a pending blocking query and resolves', async (t) => {
  const view = webView();
  const { api, base } = await start(view);
  const index = view.index;
  const pending = request(base, `/v1/health/service/web?index=${index}&wait=10m`);
  await until(() => view.pendingWaits === 1, 'the query waits on the view');
  const t0 = performance.now();
  await api.close(); // the view's clock never moves here: only close() can answer the query
  const r = await pending;
  t.log(`measured: close() took ${(performance.now() - t0).toFixed(1)} ms`);
  t.is(r.status, 200);
  t.is(r.headers['x-consul-index'], String(index));
  t.is(r.headers['connection'], 'close');
  t.is((json(r) as unknown[]).length, 3);
  await api.close(); // idempotent
  await t.throwsAsync(request(base, '/v1/status/leader')); // nobody listens any more
});
