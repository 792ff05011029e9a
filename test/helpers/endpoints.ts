// Discovery's client side for the agent's tests: an EndpointCache fed by the real
// EndpointsSubscription from a FakeDispatcher's Endpoints stream (grpc-js on 127.0.0.1).
import { credentials } from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import { DispatcherClient, type Endpoint, type RegisterResponse } from '../../proto/gen/shoal.js';
import type { Clock } from '../../proto/clock.js';
import { EndpointCache } from '../../agent/discovery/cache.js';
import { EndpointsSubscription } from '../../agent/discovery/subscription.js';
import { FakeDispatcher } from './fake-dispatcher.js';

export function ep(taskId: string, ip: string, network = 'shoal'): Partial<Endpoint> {
  return { taskId, serviceName: 'web', nodeId: 'nodeX', addresses: [{ network, ip }] };
}

/** The task ids of a service's endpoints, sorted. */
export const ids = (se: { endpoints: Endpoint[] } | undefined): string[] =>
  (se?.endpoints ?? []).map((e) => e.taskId).sort();

export async function dispatcher(t: ExecutionContext): Promise<FakeDispatcher> {
  const d = new FakeDispatcher();
  await d.start();
  t.teardown(() => d.stop());
  return d;
}

/** A client registered with `d` (the stream needs a valid session), plus cache + subscription. */
export async function follow(
  t: ExecutionContext,
  d: FakeDispatcher,
  opts: { staleGraceMs?: number; watchWaitMs?: number; clock?: Clock } = {},
) {
  const client = new DispatcherClient(d.address, credentials.createInsecure());
  t.teardown(() => client.close());
  const reg = await new Promise<RegisterResponse>((resolve, reject) =>
    client.register({ joinToken: 't', nodeId: '', description: undefined }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
  const lines: string[] = [];
  const cache = new EndpointCache({ log: (l) => lines.push(l), ...opts });
  t.teardown(() => cache.close());
  const sub = new EndpointsSubscription({ cache, retryMs: 50, log: (l) => lines.push(l) });
  const stop = sub.follow(client, { nodeId: reg.nodeId, sessionId: reg.sessionId });
  t.teardown(stop);
  return { cache, sub, stop, lines, client };
}
