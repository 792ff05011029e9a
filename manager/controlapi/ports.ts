// Published-port rules checked when a service is created: what the routing mesh can carry,
// and which published ports another service already holds. Errors are INVALID_ARGUMENT, as
// swarmkit's controlapi answers a port conflict (docker shows it as a 400).
import type { PortConfig, ServiceSpec } from '../../proto/gen/shoal.js';
import { PublishMode } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import { invalidArgument } from '../errors.js';

function protocolOf(p: PortConfig): string {
  return p.protocol || 'tcp';
}

/** `8080/tcp`: how ports are named in messages (and keyed here). */
function portName(port: number, protocol: string): string {
  return `${port}/${protocol}`;
}

/**
 * Throws ApiError (INVALID_ARGUMENT) when `spec`'s ports cannot be published:
 * - an ingress port over udp (`port 53/udp: the routing mesh carries tcp only; publish udp
 *   with mode=host`) or without a published port (`port 80/tcp: the routing mesh needs a
 *   published port`, named by its target);
 * - a published port (per protocol) that another service publishes, unless both publish it
 *   in host mode (the scheduler's host-port filter then keeps their tasks on different
 *   nodes, as Swarm does): `port 8080/tcp is already published by service web`.
 * A service of the same name is skipped (creating it again is refused as already existing).
 * Cost: one pass over the services, looking only into those with ports; no task is read.
 * Call it after validateSpec (which refuses a port given twice within one spec).
 */
export function checkPortConflicts(state: ClusterState, spec: ServiceSpec): void {
  const wanted = new Map<string, { index: number; port: PortConfig }>();
  spec.ports.forEach((port, index) => {
    const protocol = protocolOf(port);
    if (port.publishMode === PublishMode.INGRESS) {
      if (protocol === 'udp') {
        throw invalidArgument(
          `port ${portName(port.publishedPort || port.targetPort, 'udp')}: the routing mesh carries tcp only; publish udp with mode=host`,
        );
      }
      if (port.publishedPort === 0) {
        throw invalidArgument(`port ${portName(port.targetPort, protocol)}: the routing mesh needs a published port`);
      }
    }
    if (port.publishedPort > 0) wanted.set(portName(port.publishedPort, protocol), { index, port });
  });
  if (wanted.size === 0) return;

  // The conflict of the first port in the spec's order, whatever the order of the services.
  let first: { index: number; message: string } | undefined;
  for (const service of state.services.values()) {
    const other = service.spec;
    if (other === undefined || other.ports.length === 0 || other.name === spec.name) continue;
    for (const held of other.ports) {
      const key = portName(held.publishedPort, protocolOf(held));
      const mine = wanted.get(key);
      if (mine === undefined || held.publishedPort === 0) continue;
      const bothHost = mine.port.publishMode === PublishMode.HOST && held.publishMode === PublishMode.HOST;
      if (bothHost || (first !== undefined && first.index <= mine.index)) continue;
      first = { index: mine.index, message: `port ${key} is already published by service ${other.name}` };
    }
  }
  if (first !== undefined) throw invalidArgument(first.message);
}
