// Which Control calls read and which write, declared once for every method. The follower's
// router (router.ts) takes its decisions from this table only, and its type is checked: a
// Control method added to proto/shoal.proto and missing here, a name here that is no
// Control method, or a stream marked 'write' (a write is never piped) fail the
// typecheck (see test/unit/manager/controlapi/routes.types.test.ts).
import type { ControlServer, ControlService } from '../../proto/gen/shoal.js';
import type { MethodName, ProxiedCall, RouteTable } from '../service-proxy.js';

/**
 * - `write`: changes desired state; a follower forwards it to the leader (a follower's view
 *   is a copy: a write applied to it would be lost, or worse, fight the leader's).
 * - `leader`: reads only the leader can answer (the CA's state, the join tokens); a follower
 *   forwards them like writes. A server stream routed here (ServiceLogs: only the leader
 *   talks to the agents) is piped by a follower from the leader's Control API, message by message.
 * - `read`: answered from this manager's view (the leader's state, a follower's watch-fed
 *   copy, or the endpoint catalog every manager keeps).
 * - `local`: served by this manager itself whatever its role (Events: its own NATS
 *   subscription), never forwarded.
 */
export type Route = 'read' | 'write' | 'leader' | 'local';

/** Per Control method, its route; methods with a stream cannot be writes. */
export type ControlRoutes = RouteTable<ControlService, Route, 'read' | 'local' | 'leader'>;

export const CONTROL_ROUTES = {
  listNodes: 'read',
  getNode: 'read',
  updateNode: 'write',
  createService: 'write',
  getService: 'read',
  listServices: 'read',
  scaleService: 'write',
  updateService: 'write',
  rollbackService: 'write',
  serviceLogs: 'leader',
  removeService: 'write',
  listTasks: 'read',
  listManagers: 'read',
  removeNode: 'write',
  createNetwork: 'write',
  getNetwork: 'read',
  listNetworks: 'read',
  removeNetwork: 'write',
  lookupService: 'read',
  events: 'local',
  createSecret: 'write',
  getSecret: 'read',
  listSecrets: 'read',
  removeSecret: 'write',
  createConfig: 'write',
  getConfig: 'read',
  listConfigs: 'read',
  removeConfig: 'write',
  getJoinTokens: 'write',
  issueClientCertificate: 'leader',
  inspectCa: 'leader',
  rotateCa: 'write',
} as const satisfies ControlRoutes;

export type ControlMethod = MethodName<ControlServer>;

/** The Control methods routed `local`. */
export type LocalMethod = {
  [M in ControlMethod]: (typeof CONTROL_ROUTES)[M] extends 'local' ? M : never;
}[ControlMethod];

/** What serves the local methods (Events) on every manager. */
export type LocalControl = Pick<ControlServer, LocalMethod>;

export function isLocal(call: ProxiedCall<ControlServer>): call is ProxiedCall<ControlServer, LocalMethod> {
  return CONTROL_ROUTES[call.method] === 'local';
}

/** Whether a follower sends this method to the leader (writes, and reads only it can answer). */
export function isForwarded(method: ControlMethod): boolean {
  const route: Route = CONTROL_ROUTES[method];
  return route === 'write' || route === 'leader';
}
