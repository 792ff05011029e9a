// How the manager reaches etcd and NATS securely: the credentials (PEM text and passwords,
// read once at start) and their conversion into each client library's options, in one place.
//
//   embedded etcd   https://127.0.0.1:P, a client certificate of the state dir's own CA
//   external etcd   --etcd-cacert/--etcd-cert/--etcd-key (store-flags.ts)
//   embedded NATS   nats://127.0.0.1:P, user and random password from the state dir
//   external NATS   --nats-tls-cacert/--nats-tls-cert/--nats-tls-key and/or --nats-creds
import { credsAuthenticator, type ConnectionOptions } from 'nats';

/** TLS towards etcd: the CA that signed etcd's certificate, and the client's pair (both or neither). */
export interface EtcdTls {
  ca: string;
  cert?: string;
  key?: string;
  /** The name etcd's certificate is checked against instead of the endpoint's host (grpc's ssl_target_name_override). */
  serverName?: string;
}

/** NATS credentials: any of a user/password, TLS (a CA, and a client pair) and a .creds file's text. */
export interface NatsAuth {
  user?: string;
  pass?: string;
  tls?: { ca: string; cert?: string; key?: string };
  creds?: string;
}

/** etcd3's `credentials` option (grpc-js createSsl); undefined: plaintext. */
export function etcdCredentials(
  tls: EtcdTls | undefined,
): { rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer } | undefined {
  if (!tls) return undefined;
  return {
    rootCertificate: Buffer.from(tls.ca),
    ...(tls.cert && tls.key ? { certChain: Buffer.from(tls.cert), privateKey: Buffer.from(tls.key) } : {}),
  };
}

/** grpc channel options for `tls`: the server name override, if any. */
export function etcdGrpcOptions(tls: EtcdTls | undefined): Record<string, string> {
  return tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {};
}

/** The part of nats.js' connect options that authenticates; {} for none. */
export function natsOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  if (!auth) return {};
  const opts: Partial<ConnectionOptions> = {};
  if (auth.user !== undefined) {
    opts.user = auth.user;
    opts.pass = auth.pass ?? '';
  }
  if (auth.tls) {
    opts.tls = {
      ca: auth.tls.ca,
      ...(auth.tls.cert && auth.tls.key ? { cert: auth.tls.cert, key: auth.tls.key } : {}),
    };
  }
  if (auth.creds !== undefined) opts.authenticator = credsAuthenticator(new TextEncoder().encode(auth.creds));
  return opts;
}
