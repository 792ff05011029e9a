// The Dispatcher router over real grpc-js: while this manager leads, every call (unary and
// streams) reaches the term's dispatcher; otherwise agents get UNAVAILABLE naming the leader.
import test from 'ava';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  DispatcherClient,
  DispatcherService,
  type DispatcherServer,
  type NodeDescription,
  type RegisterResponse,
} from '../../../../proto/gen/shoal.js';
import { Dispatcher } from '../../../../manager/dispatcher/dispatcher.js';
import { leaderOnly } from '../../../../manager/dispatcher/router.js';
import { Core } from '../../../helpers/fixtures.js';

const TOKEN = 'T';
const description: NodeDescription = {
  hostname: 'host1',
  resources: { nanoCpus: 2e9, memoryBytes: 4 * 1024 ** 3 },
  labels: {},
  engineVersion: '',
  os: 'linux',
  arch: 'x86_64',
  address: '',
};

test('a follower refuses every call with UNAVAILABLE; once leading, the same server answers from the term', async (t) => {
  const core = new Core();
  const dispatcher = new Dispatcher(core.state, { joinToken: TOKEN, heartbeatPeriodMs: 1000 });
  const term: { impl?: DispatcherServer } = {}; // set on election
  const server = new Server();
  server.addService(
    DispatcherService,
    leaderOnly(
      () => term.impl,
      () => ({ code: status.UNAVAILABLE, details: 'this manager is not the leader (leader: 10.0.0.2:4242)' }),
    ),
  );
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const client = new DispatcherClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    server.forceShutdown();
    await dispatcher.close();
    await core.close();
  });
  const register = () =>
    new Promise<RegisterResponse>((res, rej) =>
      client.register({ joinToken: TOKEN, nodeId: '', description }, (e, r) => (e ? rej(e) : res(r))),
    );
  const streamError = () =>
    new Promise<ServiceError>((resolve) => {
      const s = client.assignments({ nodeId: 'n', sessionId: 's' });
      s.on('data', () => {});
      s.on('error', resolve);
    });

  const unary = (await t.throwsAsync(register())) as unknown as ServiceError;
  t.is(unary.code, status.UNAVAILABLE);
  t.is(unary.details, 'this manager is not the leader (leader: 10.0.0.2:4242)');
  const stream = await streamError();
  t.is(stream.code, status.UNAVAILABLE);
  t.is(stream.details, 'this manager is not the leader (leader: 10.0.0.2:4242)');

  term.impl = dispatcher.implementation(); // elected
  const reg = await register();
  t.truthy(reg.sessionId);
  t.is(core.state.nodes.get(reg.nodeId)?.description?.hostname, 'host1');
  const unknownSession = await streamError();
  t.is(unknownSession.code, status.NOT_FOUND, "the term's dispatcher answered the stream");
});
