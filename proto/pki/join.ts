// Joining a cluster with a token, for agents and managers alike: fetch the roots from a
// manager's join port without trusting them, check them against the digest in the token
// (a man in the middle is refused here), then send the CSR over TLS pinned to those roots.
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { NodeCAClient, Role, type GetRootCAResponse, type JoinResponse } from '../gen/shoal.js';
import type { TlsBundle } from './bundle.js';
import { bootstrapCredentials, MANAGER_CHANNEL_OPTIONS, pinnedCredentials } from './grpc-tls.js';
import { bundleHasDigest, parseToken, TOKEN_SHAPE } from './token.js';
import { newKeyAndCsr, type RoleName } from './x509.js';

export interface Joined {
  id: string;
  role: RoleName;
  clusterId: string;
  bundle: TlsBundle;
  clusterKey: Buffer;
  managers: string[];
}

/** A join that cannot work with this token (malformed, rotated, another cluster's): do not retry. */
export class JoinError extends Error {
  override name = 'JoinError';
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const CALL_TIMEOUT_MS = 10_000;

/** "HOST:PORT" -> "HOST:PORT+1": a manager's join port is the one after its gRPC port, unless given. */
export function joinAddressOf(managerAddress: string): string {
  const m = /^(.*):(\d+)$/.exec(managerAddress);
  if (!m) return managerAddress;
  return `${m[1]}:${Number(m[2]) + 1}`;
}

function callback<Res>(resolve: (r: Res) => void, reject: (e: unknown) => void) {
  return (err: ServiceError | null, res: Res) => (err ? reject(err) : resolve(res));
}

const deadline = () => ({ deadline: Date.now() + CALL_TIMEOUT_MS });

/** Joins through `joinAddress` (a manager's join port) with `token`. */
export async function joinCluster(joinAddress: string, token: string, hostname: string): Promise<Joined> {
  const parsed = parseToken(token);
  if (!parsed) throw new JoinError(`the join token is malformed (expected ${TOKEN_SHAPE})`, true);
  const open = new NodeCAClient(joinAddress, bootstrapCredentials(), {
    'grpc.enable_http_proxy': 0,
    ...MANAGER_CHANNEL_OPTIONS,
  });
  let caPem: string;
  try {
    caPem = (
      await new Promise<GetRootCAResponse>((resolve, reject) =>
        open.getRootCa({}, new Metadata(), deadline(), callback(resolve, reject)),
      )
    ).caPem;
  } catch (err) {
    throw new JoinError(
      `cannot fetch the CA from ${joinAddress}: ${(err as ServiceError).details ?? String(err)}`,
      false,
      {
        cause: err,
      },
    );
  } finally {
    open.close();
  }
  if (!bundleHasDigest(caPem, parsed.digest)) {
    throw new JoinError(
      `the CA served at ${joinAddress} does not match the join token's digest (another cluster, or a man in the middle): refusing it`,
      true,
    );
  }
  const { keyPem, csrPem } = await newKeyAndCsr();
  const pinned = new NodeCAClient(joinAddress, pinnedCredentials(caPem), {
    'grpc.enable_http_proxy': 0,
    ...MANAGER_CHANNEL_OPTIONS,
  });
  let res: JoinResponse;
  try {
    res = await new Promise<JoinResponse>((resolve, reject) =>
      pinned.join({ token, csrPem, hostname }, new Metadata(), deadline(), callback(resolve, reject)),
    );
  } catch (err) {
    const e = err as ServiceError;
    const permanent = e.code === grpcStatus.PERMISSION_DENIED || e.code === grpcStatus.INVALID_ARGUMENT;
    throw new JoinError(`cannot join through ${joinAddress}: ${e.details ?? String(err)}`, permanent, { cause: err });
  } finally {
    pinned.close();
  }
  return {
    id: res.id,
    role: res.role === Role.MANAGER ? 'manager' : 'worker',
    clusterId: res.clusterId,
    bundle: { caPem: res.caPem, certPem: res.certPem, keyPem },
    clusterKey: Buffer.from(res.clusterKey),
    managers: res.managers,
  };
}
