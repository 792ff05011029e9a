// Who may call what, decided from the client certificate verified at the handshake (never
// from the request): the Control API takes admins (the CLI) and managers (a follower
// forwarding to the leader); the Dispatcher takes workers (agents), each as its own node
// only: a request naming another node is refused, Register's node id is the certificate's.
import { status, type ServerDuplexStream, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { ControlService, DispatcherService, type ControlServer, type DispatcherServer } from '../../proto/gen/shoal.js';
import { peerIdentity } from '../../proto/pki/grpc-tls.js';
import type { Identity, RoleName } from '../../proto/pki/x509.js';
import { proxyService } from '../service-proxy.js';

function denied(details: string): Partial<ServiceError> {
  return { code: status.PERMISSION_DENIED, details };
}

/** Why `id` may not call a service for `roles`; undefined when it may. */
export function refusal(
  id: Identity | undefined,
  roles: readonly RoleName[],
  clusterId: string,
  service: string,
): Partial<ServiceError> | undefined {
  if (!id) return { code: status.UNAUTHENTICATED, details: 'no shoal client certificate' };
  if (id.clusterId !== clusterId) return denied(`the certificate is of another cluster (${id.clusterId})`);
  if (!roles.includes(id.role)) return denied(`a ${id.role} certificate cannot call the ${service} API`);
  return undefined;
}

export function controlWithAuth(impl: ControlServer, clusterId: () => string): ControlServer {
  return proxyService<ControlServer>(ControlService, (c) => {
    const why = refusal(peerIdentity(c.call), ['admin', 'manager'], clusterId(), 'Control');
    if (why) c.refuse(why);
    else c.delegate(impl);
  });
}

interface NodeScoped {
  nodeId?: string;
}

function otherNode(id: Identity, nodeId: string | undefined): Partial<ServiceError> | undefined {
  if (nodeId === undefined || nodeId === '' || nodeId === id.id) return undefined;
  return denied(`this certificate is node ${id.id}'s: it cannot act as node ${nodeId}`);
}

export function dispatcherWithAuth(impl: DispatcherServer, clusterId: () => string): DispatcherServer {
  return proxyService<DispatcherServer>(DispatcherService, (c) => {
    const id = peerIdentity(c.call);
    const why = refusal(id, ['worker'], clusterId(), 'Dispatcher');
    if (why || !id) return c.refuse(why ?? denied('no identity'));
    if (c.kind === 'unary') {
      const req = c.request as NodeScoped;
      const other = otherNode(id, req.nodeId);
      if (other) return c.refuse(other);
      // Who registers or renews is who the certificate names.
      if (c.method === 'register' || c.method === 'renewCertificate') req.nodeId = id.id;
      return c.delegate(impl);
    }
    if (c.method === 'endpoints') {
      // A bidi stream: every request message must be this node's.
      const call = c.call as ServerDuplexStream<NodeScoped, unknown>;
      const on = call.on.bind(call);
      call.on = ((event: string, listener: (...args: unknown[]) => void) => {
        if (event !== 'data') return on(event, listener);
        return on('data', (msg: NodeScoped) => {
          const other = otherNode(id, msg.nodeId);
          if (other) call.emit('error', other);
          else listener(msg);
        });
      }) as typeof call.on;
      return c.delegate(impl);
    }
    const other = otherNode(id, (c.call as ServerWritableStream<NodeScoped, unknown>).request?.nodeId);
    if (other) return c.refuse(other);
    c.delegate(impl);
  });
}
