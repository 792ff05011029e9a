// gRPC credentials for shoal's mutual TLS, on the client side (agents, the CLI, managers
// forwarding to the leader), and who the peer of a server call is.
// Servers are managers only: a client checks the server's certificate chains to the
// cluster's roots and names a manager of its cluster (Swarm checks OU and O, not host names).
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { TlsBundle } from './bundle.js';
import { identityOfSubject, MANAGER_SERVER_NAME, type Identity } from './x509.js';

/**
 * Channel options for every client of a manager: the TLS server name is the one every
 * manager's certificate carries (an IP address as server name is not allowed by RFC 6066).
 */
export const MANAGER_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': MANAGER_SERVER_NAME } as const;

function checkManager(clusterId: string | undefined) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const id = identityOfSubject(cert.subject);
    if (!id || id.role !== 'manager')
      return new Error('the server is not a shoal manager (its certificate is not one)');
    if (clusterId && id.clusterId !== clusterId)
      return new Error(`the server is a manager of another cluster (${id.clusterId}, not ${clusterId})`);
    return undefined;
  };
}

/** Mutual TLS to a manager with the holder's bundle. */
export function managerCredentials(bundle: TlsBundle, clusterId?: string): ChannelCredentials {
  return credentials.createSsl(Buffer.from(bundle.caPem), Buffer.from(bundle.keyPem), Buffer.from(bundle.certPem), {
    checkServerIdentity: checkManager(clusterId),
  });
}

/** TLS to a manager whose roots are known (pinned), without a client certificate: joining. */
export function pinnedCredentials(caPem: string): ChannelCredentials {
  return credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: checkManager(undefined) });
}

/**
 * TLS that verifies nothing: only to fetch the roots, which the joiner then checks against
 * the digest in its token before it sends anything that matters.
 */
export function bootstrapCredentials(): ChannelCredentials {
  return credentials.createSsl(null, null, null, { rejectUnauthorized: false });
}

interface WithAuthContext {
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate } | null;
}

/** The identity in a server call's client certificate (verified at the handshake), if any. */
export function peerIdentity(call: WithAuthContext): Identity | undefined {
  const cert = call.getAuthContext?.()?.sslPeerCertificate;
  if (!cert || !cert.subject) return undefined;
  return identityOfSubject(cert.subject);
}
