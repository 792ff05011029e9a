// Agents talk to the leader only: every Dispatcher call goes to the current leader term's
// dispatcher, and a manager that does not lead (or not yet) sends agents on with
// UNAVAILABLE, naming the leader when it knows it, so they move on to it.
import type { ServiceError } from '@grpc/grpc-js';
import { DispatcherService, type DispatcherServer } from '../../proto/gen/shoal.js';
import { proxyService, type RouteTable } from '../service-proxy.js';

/** `leader`: served by the leader's term (an agent's session, heartbeats and streams live there). */
export type DispatcherRoute = 'leader';
export type DispatcherRoutes = RouteTable<typeof DispatcherService, DispatcherRoute>;

/**
 * Where each Dispatcher call is served, declared per method like the Control routes
 * (controlapi/routes.ts): a Dispatcher method added to proto/shoal.proto and missing here
 * fails the typecheck (test/unit/manager/controlapi/routes.types.test.ts).
 */
export const DISPATCHER_ROUTES = {
  register: 'leader',
  heartbeat: 'leader',
  assignments: 'leader',
  updateTaskStatus: 'leader',
  networks: 'leader',
  endpoints: 'leader',
  renewCertificate: 'leader',
  logSubscriptions: 'leader',
  publishLogs: 'leader',
} as const satisfies DispatcherRoutes;

export function leaderOnly(
  /** The leader term's dispatcher; undefined while this manager does not lead. */
  current: () => DispatcherServer | undefined,
  /** The refusal a follower answers with. */
  notLeader: () => Partial<ServiceError>,
): DispatcherServer {
  return proxyService<DispatcherServer>(DispatcherService, (call) => {
    const impl = DISPATCHER_ROUTES[call.method] === 'leader' ? current() : undefined;
    if (impl) call.delegate(impl);
    else call.refuse(notLeader());
  });
}
