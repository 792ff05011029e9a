// The join port's service (server TLS only: a joiner has no certificate yet): the roots,
// for the joiner to check against its token, and Join, which signs its CSR.
import type { JoinRequest, NodeCAServer } from '../../proto/gen/shoal.js';
import { NodeCAService, Role } from '../../proto/gen/shoal.js';
import { invalidArgument, unary, ApiError } from '../errors.js';
import { Server, status } from '@grpc/grpc-js';
import { JoinRefused } from './authority.js';
import type { ManagerSecurity } from './manager-security.js';

const MAX_TOKEN = 128;
const MAX_CSR = 8 * 1024;
const MAX_HOSTNAME = 253;

export function nodeCaService(
  security: ManagerSecurity,
  clusterKey: () => Buffer,
  managers: () => Promise<string[]>,
  log: (line: string) => void,
): NodeCAServer {
  return {
    getRootCa: unary(async () => ({ caPem: security.authority.caPem })),
    join: unary(async (req: JoinRequest, peer: string) => {
      if (req.token.length > MAX_TOKEN) throw invalidArgument('the join token is too long');
      if (req.csrPem.length > MAX_CSR) throw invalidArgument(`the certificate request is over ${MAX_CSR} bytes`);
      if (req.hostname.length > MAX_HOSTNAME) throw invalidArgument(`the hostname is over ${MAX_HOSTNAME} characters`);
      let issued;
      try {
        issued = await security.authority.join(req.token, req.csrPem, req.hostname);
      } catch (err) {
        if (err instanceof JoinRefused) {
          log(`security: join refused from ${peer}: ${err.message}`);
          throw new ApiError(status.PERMISSION_DENIED, err.message, { cause: err });
        }
        if (err instanceof Error && /certificate request/.test(err.message)) throw invalidArgument(err.message);
        throw err;
      }
      log(`security: ${req.hostname || peer} joined as ${issued.role} ${issued.id}`);
      const manager = issued.role === 'manager';
      return {
        id: issued.id,
        role: manager ? Role.MANAGER : Role.WORKER,
        certPem: issued.certPem,
        caPem: issued.caPem,
        clusterId: security.authority.clusterId,
        managers: await managers(),
        clusterKey: manager ? clusterKey() : Buffer.alloc(0),
      };
    }),
  };
}

/** A join is a token, a CSR and a hostname: nothing bigger is taken from a stranger. */
const JOIN_MESSAGE_LIMIT = 64 * 1024;

/** Serves NodeCA on `listen` (server TLS only); resolves with the server and its bound address. */
export async function serveJoinPort(
  security: ManagerSecurity,
  listen: string,
  managers: () => Promise<string[]>,
  log: (line: string) => void,
): Promise<{ server: Server; address: string }> {
  const server = new Server({ 'grpc.max_receive_message_length': JOIN_MESSAGE_LIMIT });
  server.addService(
    NodeCAService,
    nodeCaService(security, () => security.key, managers, log),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, security.joinServerCredentials, (err, p) =>
      err ? reject(new Error(`join port ${listen}: ${err.message}`, { cause: err })) : resolve(p),
    ),
  );
  return { server, address: listen.replace(/:\d+$/, `:${port}`) };
}
