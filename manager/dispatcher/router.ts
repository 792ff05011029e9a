// Agents talk to the leader only: every Dispatcher call goes to the current leader term's
// dispatcher, and a manager that does not lead (or not yet) sends agents on with
// UNAVAILABLE, naming the leader when it knows it, so they move on to it.
import type { ServiceError } from '@grpc/grpc-js';
import { DispatcherService, type DispatcherServer } from '../../proto/gen/shoal.js';
import { proxyService } from '../service-proxy.js';

export function leaderOnly(
  /** The leader term's dispatcher; undefined while this manager does not lead. */
  current: () => DispatcherServer | undefined,
  /** The refusal a follower answers with. */
  notLeader: () => Partial<ServiceError>,
): DispatcherServer {
  return proxyService<DispatcherServer>(DispatcherService, (call) => {
    const impl = current();
    if (impl) call.delegate(impl);
    else call.refuse(notLeader());
  });
}
