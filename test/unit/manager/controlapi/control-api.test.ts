// Control.LookupService and Control.Events through the router over a real grpc-js
// server: lookups from the catalog (NOT_FOUND, UNAVAILABLE before the load), Events from
// the (here fake) relay until the client cancels, port conflicts refused at create.
import test from 'ava';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ControlClient,
  ControlService,
  PublishMode,
  type Event,
  type EventsRequest,
  type ServiceEndpoints,
} from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { ControlRouter } from '../../../../manager/controlapi/router.js';
import { ControlApi, serveEvents, type EventFollower } from '../../../../manager/controlapi/control-api.js';
import { EndpointCatalog } from '../../../../manager/discovery/catalog.js';
import { EndpointRegistry } from '../../../../manager/discovery/registry.js';
import { until } from '../../../helpers/until.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

class FakeRelay implements EventFollower {
  followers = new Set<{ req: EventsRequest; write: (e: Event) => void; onError: (err: Error) => void }>();
  follow(req: EventsRequest, write: (e: Event) => void, onError: (err: Error) => void): () => void {
    const f = { req, write, onError };
    this.followers.add(f);
    return () => this.followers.delete(f);
  }
  emit(e: Event): void {
    for (const f of this.followers) if (f.req.types.length === 0 || f.req.types.includes(e.type)) f.write(e);
  }
}

async function setup(opts: { startCatalog?: boolean; withApi?: boolean } = {}) {
  const core = new Core([makeNode('host1')]);
  const catalog = new EndpointCatalog(core.store);
  if (opts.startCatalog ?? true) catalog.start();
  const registry = new EndpointRegistry(core.state, core.writer, core.store);
  await registry.start();
  const relay = new FakeRelay();
  const api = new ControlApi({ state: core.state, sync: () => core.writer.sync(), endpoints: catalog, events: relay });
  const router = new ControlRouter({
    api: () => ((opts.withApi ?? true) ? api : undefined),
    isLeader: () => true,
    leaderAddress: () => undefined,
    local: { events: (call) => serveEvents(relay, call) },
  });
  const server = new Server();
  server.addService(ControlService, router.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const client = new ControlClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const lookup = (name: string) =>
    new Promise<ServiceEndpoints>((res, rej) => client.lookupService({ name }, (e, r) => (e ? rej(e) : res(r))));
  const close = async () => {
    client.close();
    await router.close();
    await registry.close();
    await catalog.close();
    server.forceShutdown();
    await core.close();
  };
  return { core, catalog, relay, client, lookup, close };
}

test('LookupService answers from the catalog; NOT_FOUND for an unknown service', async (t) => {
  const { core, catalog, lookup, close } = await setup();
  await core.api.createService({
    spec: makeSpec('web', {
      replicas: 1,
      ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS }],
    }),
  });
  core.settle();
  const task = core.live('web')[0]!;
  core.report(task.id, TaskState.RUNNING, { addresses: [{ network: 'shoal', ip: '10.42.0.5' }] });
  await until(() => catalog.lookup('web').endpoints.length === 1);
  const r = await lookup('web');
  t.true(r.exists);
  t.is(r.endpoints[0]!.taskId, task.id);
  t.is(r.endpoints[0]!.nodeName, 'host1');
  t.is(r.endpoints[0]!.addresses[0]!.ip, '10.42.0.5');
  t.is(r.ports[0]!.publishedPort, 8080);
  t.true(r.index > 0);
  const err = (await t.throwsAsync(lookup('nope'))) as unknown as ServiceError;
  t.is(err.code, status.NOT_FOUND);
  t.is(err.details, 'no such service: nope');
  const empty = (await t.throwsAsync(lookup(''))) as unknown as ServiceError;
  t.is(empty.code, status.INVALID_ARGUMENT);
  await close();
});

test('LookupService is UNAVAILABLE while the catalog is not loaded', async (t) => {
  const { lookup, close } = await setup({ startCatalog: false });
  const err = (await t.throwsAsync(lookup('web'))) as unknown as ServiceError;
  t.is(err.code, status.UNAVAILABLE);
  t.regex(err.details, /loading the endpoints/);
  await close();
});

test('Events streams what the relay follows until the client cancels, even without a loaded view', async (t) => {
  const { client, relay, close } = await setup({ withApi: false });
  const got: Event[] = [];
  const call = client.events({ types: ['endpoint'], name: '' });
  call.on('data', (e: Event) => got.push(e));
  call.on('error', () => {});
  await until(() => relay.followers.size === 1);
  relay.emit({ type: 'task', subject: 'shoal.events.task.web', timeMs: 1, payloadJson: '{}' });
  relay.emit({
    type: 'endpoint',
    subject: 'shoal.events.endpoint.web',
    timeMs: 2,
    payloadJson: '{"type":"registered"}',
  });
  await until(() => got.length === 1);
  t.is(got[0]!.subject, 'shoal.events.endpoint.web');
  call.cancel();
  await until(() => relay.followers.size === 0);
  t.pass();
  await close();
});

test('Events ends with UNAVAILABLE when the relay gives up', async (t) => {
  const { client, relay, close } = await setup();
  const call = client.events({ types: [], name: '' });
  const errors: ServiceError[] = [];
  call.on('data', () => {});
  call.on('error', (e: ServiceError) => errors.push(e));
  await until(() => relay.followers.size === 1);
  for (const f of relay.followers) f.onError(new Error('NATS is gone'));
  await until(() => errors.length === 1);
  t.is(errors[0]!.code, status.UNAVAILABLE);
  t.regex(errors[0]!.details, /NATS is gone/);
  await close();
});

test('createService refuses a published port another service holds', async (t) => {
  const { core, close } = await setup();
  const port = { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS };
  await core.api.createService({ spec: makeSpec('web', { ports: [port] }) });
  const err = await t.throwsAsync(core.api.createService({ spec: makeSpec('web2', { ports: [port] }) }));
  t.regex(err.message, /8080\/tcp is already published by service web/);
  await close();
});
