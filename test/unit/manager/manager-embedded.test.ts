// A whole manager on its embedded etcd and NATS (no endpoints, no URL given): it elects
// itself, stores a service and publishes its event through the credentials of its state
// dir, while a client without them is refused by both.
import test from 'ava';
import type { ServiceError } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { connect, JSONCodec } from 'nats';
import { ControlClient, type ListServicesResponse } from '../../../proto/gen/shoal.js';
import { Manager } from '../../../manager/manager.js';
import { natsOptions } from '../../../manager/config/connections.js';
import { makeSpec } from '../../helpers/fixtures.js';
import { freePort } from '../../helpers/ports.js';
import { until } from '../../helpers/until.js';
import { adminCredentials } from '../../helpers/control-plane.js';
import { MANAGER_CHANNEL_OPTIONS } from '../../../proto/pki/grpc-tls.js';

function call<T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free port whose next one (etcd's peer port) is free too. */
async function etcdPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 65_535 && (await portFree(p + 1))) return p;
  }
}

test('embedded etcd and NATS: the manager works with its credentials; a client without them is refused', async (t) => {
  t.timeout(90_000);
  const root = mkdtempSync(join(tmpdir(), 'shoal-embedded-mgr-'));
  const stateDir = join(root, 'state');
  const [etcdClientPort, natsPort] = [await etcdPort(), await freePort()];
  const m = new Manager({
    listen: '127.0.0.1:0',
    advertise: '',
    stateDir,
    etcdEndpoints: [],
    natsUrl: '',
    embeddedEtcdPort: etcdClientPort,
    embeddedNatsPort: natsPort,
    heartbeatPeriodMs: 1000,
    httpListen: 'off',
    leaderLeaseTtlS: 6,
    log: () => {},
  });
  const client = new Etcd3({ hosts: `http://127.0.0.1:${etcdClientPort}`, dialTimeout: 2_000 });
  t.teardown(async () => {
    client.close();
    await m.close();
    rmSync(root, { recursive: true, force: true });
  });
  await m.start();
  await until(() => m.isLeader, 'elected on the embedded etcd');
  t.is((statSync(stateDir).mode & 0o777).toString(8), '700');

  // NATS with the state dir's password sees the manager's event; without it, refused.
  const pass = readFileSync(join(stateDir, 'nats-password'), 'utf8').trim();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  await t.throwsAsync(connect({ servers: natsUrl, reconnect: false }), { message: /Authorization Violation/ });
  const nc = await connect({ servers: natsUrl, ...natsOptions({ user: 'shoal', pass }) });
  t.teardown(() => nc.close());
  const seen: Record<string, unknown>[] = [];
  const sub = nc.subscribe('shoal.events.service.>');
  void (async () => {
    for await (const msg of sub) seen.push(JSONCodec<Record<string, unknown>>().decode(msg.data));
  })();
  await nc.flush();

  const control = new ControlClient(m.boundAddress, adminCredentials(stateDir), MANAGER_CHANNEL_OPTIONS);
  t.teardown(() => control.close());
  await call((cb) =>
    control.createService({ spec: makeSpec('web', { replicas: 1 }), resolveImage: 0, registryAuth: '' }, cb),
  );
  const list = await call<ListServicesResponse>((cb) => control.listServices({}, cb));
  t.deepEqual(
    list.services.map((s) => s.service?.spec?.name),
    ['web'],
  );
  await until(() => seen.length > 0, 'the service event on NATS');

  // etcd without the client certificate: refused.
  await t.throwsAsync(client.get('shoal').exec());
});
