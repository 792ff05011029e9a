// A Dispatcher on a memory-store Core, served by a real grpc-js server on 127.0.0.1:0,
// with a client for it: what the dispatcher's unit tests share.
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { DispatcherClient, DispatcherService, type NodeDescription } from '../../proto/gen/shoal.js';
import { Dispatcher, type DispatcherOptions } from '../../manager/dispatcher/dispatcher.js';
import { Core } from './fixtures.js';

export const JOIN_TOKEN = 'SHOAL-test-token';

export function nodeDescription(hostname: string): NodeDescription {
  return {
    hostname,
    resources: { nanoCpus: 2e9, memoryBytes: 4 * 1024 ** 3 },
    labels: {},
    engineVersion: '20.10',
    os: 'linux',
    arch: 'x86_64',
    address: '',
  };
}

export interface Session {
  nodeId: string;
  sessionId: string;
}

/** `core` defaults to an empty one; every option of the Dispatcher but the token may be given. */
export async function serveDispatcher(opts: Partial<DispatcherOptions> & { core?: Core } = {}): Promise<{
  core: Core;
  dispatcher: Dispatcher;
  client: DispatcherClient;
  call: <T>(fn: (cb: (e: Error | null, r: T) => void) => void) => Promise<T>;
  register: (hostname: string, nodeId?: string) => Promise<Session>;
  close: () => Promise<void>;
}> {
  const { core = new Core(), ...rest } = opts;
  const dispatcher = new Dispatcher(core.state, { joinToken: JOIN_TOKEN, heartbeatPeriodMs: 1000, ...rest });
  const server = new Server();
  server.addService(DispatcherService, dispatcher.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  dispatcher.start();
  const client = new DispatcherClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const call = <T>(fn: (cb: (e: Error | null, r: T) => void) => void) =>
    new Promise<T>((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
  const register = (hostname: string, nodeId = '') =>
    call<Session>((cb) =>
      client.register({ joinToken: JOIN_TOKEN, nodeId, description: nodeDescription(hostname) }, cb),
    );
  const close = async () => {
    client.close();
    await dispatcher.close();
    server.forceShutdown();
    await core.close();
  };
  return { core, dispatcher, client, call, register, close };
}
