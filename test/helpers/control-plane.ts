// A real etcd and nats-server in temp dirs, for tests that run the manager's parts (or
// whole managers) in-process against them. Ports are picked free; one that another
// process took meanwhile (tests run in parallel) makes the start try again on new ones.
// Both require credentials as the manager's embedded ones do: etcd a client certificate
// (`tls`), NATS a user and password (`auth`); natsOptions/etcdCredentials turn them into
// the client libraries' options.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedEtcd, embeddedNats, type EmbeddedProcess } from '../../manager/embedded.js';
import type { EtcdTls, NatsAuth } from '../../manager/config/connections.js';
import type { ManagerConfig } from '../../manager/manager.js';
import { newClusterKey, readClusterKey, writeClusterKey } from '../../manager/security/cluster-key.js';
import { freePort } from './ports.js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Manager } from '../../manager/manager.js';
import { readBundle } from '../../proto/pki/bundle.js';
import { managerCredentials } from '../../proto/pki/grpc-tls.js';
import { joinCluster } from '../../proto/pki/join.js';

/** Tries at a start whose port was taken between picking it and binding it. */
const START_ATTEMPTS = 4;

export interface Started {
  dir: string;
  port: number;
  /** etcd: https://127.0.0.1:PORT; NATS: nats://127.0.0.1:PORT */
  url: string;
  /** Stops the process and removes its temp dir; idempotent. */
  close(): Promise<void>;
}

export interface StartedEtcd extends Started {
  tls: EtcdTls;
}

export interface StartedNats extends Started {
  auth: NatsAuth;
}

export interface ControlPlane {
  dir: string;
  etcdUrl: string;
  etcdTls: EtcdTls;
  natsUrl: string;
  /** The cluster key every manager of this control plane holds. */
  clusterKey: Buffer;
  natsAuth: NatsAuth;
  /** Stops NATS and etcd and removes the temp dir (close the managers first); idempotent. */
  close(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function start<P extends EmbeddedProcess>(
  prefix: string,
  make: (dir: string, port: number) => P,
  pickPort: () => Promise<number>,
  scheme: string,
  fixedPort: number | undefined,
): Promise<Started & { proc: P }> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const port = fixedPort ?? (await pickPort());
    const proc = make(dir, port);
    try {
      await proc.start();
    } catch (err) {
      await proc.close();
      rmSync(dir, { recursive: true, force: true });
      if (fixedPort !== undefined || attempt >= START_ATTEMPTS) throw err;
      continue;
    }
    let closing: Promise<void> | undefined;
    return {
      dir,
      port,
      proc,
      url: `${scheme}://127.0.0.1:${port}`,
      close: () => (closing ??= proc.close().then(() => rmSync(dir, { recursive: true, force: true }))),
    };
  }
}

/** etcd on a free client port whose next port (the peer port) is free too. */
export async function startEtcd(prefix: string): Promise<StartedEtcd> {
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (p < 65_535 && (await portFree(p + 1))) return p;
    }
  };
  const { proc, ...started } = await start(
    prefix,
    (dir, port) => embeddedEtcd(dir, port, () => {}),
    pick,
    'https',
    undefined,
  );
  return { ...started, tls: proc.tls };
}

/**
 * nats-server on a free port, or on `port` (to start one again where another was);
 * `password` (32+ hex digits): this one instead of a random one (a client made before the
 * server, or a server started again, keeps working).
 */
export async function startNats(prefix: string, port?: number, password?: string): Promise<StartedNats> {
  const make = (dir: string, p: number) => {
    if (password) writeFileSync(join(dir, 'nats-password'), password, { mode: 0o600 });
    return embeddedNats(dir, p, () => {});
  };
  const { proc, ...started } = await start(prefix, make, freePort, 'nats', port);
  return { ...started, auth: proc.auth };
}

export async function startControlPlane(prefix: string): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const etcd = await startEtcd(`${prefix}etcd-`);
  const nats = await startNats(`${prefix}nats-`).catch(async (err: unknown) => {
    await etcd.close();
    throw err;
  });
  let closing: Promise<void> | undefined;
  return {
    dir,
    etcdUrl: etcd.url,
    etcdTls: etcd.tls,
    natsUrl: nats.url,
    clusterKey: newClusterKey(),
    natsAuth: nats.auth,
    close: () =>
      (closing ??= (async () => {
        await nats.close();
        await etcd.close();
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/**
 * A manager on 127.0.0.1:0 against the control plane, state in <dir>/<name>. Its leader
 * lease lasts 6 s, not 2: these tests hand leadership over by closing a manager (the lease
 * is revoked at once), never by its expiry, and a loaded machine must not lose it under them.
 */
export function managerConfig(cp: ControlPlane, name: string, overrides: Partial<ManagerConfig> = {}): ManagerConfig {
  // The managers of one control plane share its cluster key (as managers that joined would).
  const stateDir = join(cp.dir, name);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  if (!readClusterKey(stateDir)) writeClusterKey(stateDir, cp.clusterKey);
  return {
    listen: '127.0.0.1:0',
    advertise: '',
    stateDir: join(cp.dir, name),
    etcdEndpoints: [cp.etcdUrl],
    etcdTls: cp.etcdTls,
    natsUrl: cp.natsUrl,
    natsAuth: cp.natsAuth,
    embeddedEtcdPort: 0,
    embeddedNatsPort: 0,
    heartbeatPeriodMs: 1000,
    leaderLeaseTtlS: 6,
    log: () => {},
    ...overrides,
  };
}

/** A Control client with the admin bundle a manager wrote into its state directory. */
export function adminCredentials(stateDir: string): ChannelCredentials {
  return managerCredentials(readBundle(stateDir));
}

/** Mutual-TLS credentials of a new worker node joined to `m`'s cluster with its worker token. */
export async function workerCredentials(
  m: Manager,
  hostname: string,
): Promise<{ nodeId: string; credentials: ChannelCredentials }> {
  const { worker } = await m.authority.tokens();
  const joined = await joinCluster(m.joinAddress, worker, hostname);
  return { nodeId: joined.id, credentials: managerCredentials(joined.bundle, joined.clusterId) };
}
