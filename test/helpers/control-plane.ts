// A real etcd and nats-server in a temp dir, for tests that run whole managers in-process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedEtcd, embeddedNats } from '../../manager/embedded.js';
import type { ManagerConfig } from '../../manager/manager.js';
import { freePort } from './ports.js';

export interface ControlPlane {
  dir: string;
  etcdUrl: string;
  natsUrl: string;
  /** Stops NATS and etcd and removes the temp dir (stop the managers first). */
  stop(): Promise<void>;
}

export async function startControlPlane(prefix: string): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const etcdPort = await freePort();
  await freePort(); // keep etcdPort + 1 (peer) likely free
  const natsPort = await freePort();
  const etcd = embeddedEtcd(dir, etcdPort, () => {});
  const nats = embeddedNats(dir, natsPort, () => {});
  await etcd.start();
  await nats.start();
  return {
    dir,
    etcdUrl: `http://127.0.0.1:${etcdPort}`,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    stop: async () => {
      await nats.stop();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A manager on 127.0.0.1:0 against the control plane, state in <dir>/<name>. */
export function managerConfig(cp: ControlPlane, name: string, overrides: Partial<ManagerConfig> = {}): ManagerConfig {
  return {
    listen: '127.0.0.1:0',
    advertise: '',
    stateDir: join(cp.dir, name),
    joinToken: 'T',
    etcdEndpoints: [cp.etcdUrl],
    natsUrl: cp.natsUrl,
    embeddedEtcdPort: 0,
    embeddedNatsPort: 0,
    heartbeatPeriodMs: 1000,
    log: () => {},
    ...overrides,
  };
}
