// A whole manager's security against a real etcd and NATS: who the mutual-TLS port lets in,
// and as whom (the Control API for admins and managers, the Dispatcher for each node as itself).
import test from 'ava';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ControlClient, DispatcherClient, type NodeDescription } from '../../../../proto/gen/shoal.js';
import { MANAGER_CHANNEL_OPTIONS, managerCredentials } from '../../../../proto/pki/grpc-tls.js';
import { JoinError, joinCluster } from '../../../../proto/pki/join.js';
import { Manager } from '../../../../manager/manager.js';
import { until } from '../../../helpers/until.js';
import {
  adminCredentials,
  managerConfig,
  startControlPlane,
  workerCredentials,
} from '../../../helpers/control-plane.js';

function call<T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
}

const description = (hostname: string): NodeDescription => ({
  hostname,
  resources: { nanoCpus: 1e9, memoryBytes: 1024 ** 3 },
  labels: {},
  engineVersion: '',
  os: 'linux',
  arch: 'x86_64',
  address: '',
});

const DEADLINE = () => ({ deadline: Date.now() + 5_000 });

test('mutual TLS: who is let in, and as whom', async (t) => {
  const cp = await startControlPlane('shoal-tls-');
  const m = new Manager(managerConfig(cp, 'm', { httpListen: 'off', heartbeatPeriodMs: 60_000 }));
  const clients: { close(): void }[] = [];
  const client = <C extends { close(): void }>(c: C): C => (clients.push(c), c);
  try {
    await m.start();
    await until(() => m.isLeader, 'elected');
    const addr = m.boundAddress;

    // A plaintext client and a TLS client without a certificate: refused at the handshake.
    const plain = client(new ControlClient(addr, credentials.createInsecure()));
    const e1 = await t.throwsAsync(call((cb) => plain.listNodes({}, new Metadata(), DEADLINE(), cb)));
    t.is((e1 as ServiceError).code, status.UNAVAILABLE, 'plaintext: no connection');
    const ca = (await call<{ caPem: string }>((cb) => m.authority && cb(null, { caPem: m.authority.caPem }))).caPem;
    const anonymous = client(new ControlClient(addr, credentials.createSsl(Buffer.from(ca)), MANAGER_CHANNEL_OPTIONS));
    const e2 = await t.throwsAsync(call((cb) => anonymous.listNodes({}, new Metadata(), DEADLINE(), cb)));
    t.is((e2 as ServiceError).code, status.UNAVAILABLE, 'no client certificate: the handshake fails');

    // The admin bundle from the state directory works.
    const admin = client(new ControlClient(addr, adminCredentials(join(cp.dir, 'm')), MANAGER_CHANNEL_OPTIONS));
    t.deepEqual(
      (await call<{ nodes: unknown[] }>((cb) => admin.listNodes({}, new Metadata(), DEADLINE(), cb))).nodes,
      [],
    );

    // A worker's certificate: the Control API refuses it.
    const w1 = await workerCredentials(m, 'host1');
    const asWorker = client(new ControlClient(addr, w1.credentials, MANAGER_CHANNEL_OPTIONS));
    const e3 = await t.throwsAsync(call((cb) => asWorker.listNodes({}, new Metadata(), DEADLINE(), cb)));
    t.is((e3 as ServiceError).code, status.PERMISSION_DENIED);
    t.regex((e3 as ServiceError).details, /a worker certificate cannot call the Control API/);

    // The Dispatcher: each node as itself only.
    const w2 = await workerCredentials(m, 'host2');
    const d1 = client(new DispatcherClient(addr, w1.credentials, MANAGER_CHANNEL_OPTIONS));
    const reg = await call<{ nodeId: string; sessionId: string }>((cb) =>
      d1.register({ joinToken: '', nodeId: '', description: description('host1') }, new Metadata(), DEADLINE(), cb),
    );
    t.is(reg.nodeId, w1.nodeId, "the node id is the certificate's");
    const asOther = await t.throwsAsync(
      call((cb) =>
        d1.register(
          { joinToken: '', nodeId: w2.nodeId, description: description('host2') },
          new Metadata(),
          DEADLINE(),
          cb,
        ),
      ),
    );
    t.is((asOther as ServiceError).code, status.PERMISSION_DENIED, 'register as another node');
    const d2 = client(new DispatcherClient(addr, w2.credentials, MANAGER_CHANNEL_OPTIONS));
    const beat = await t.throwsAsync(
      call((cb) => d2.heartbeat({ nodeId: w1.nodeId, sessionId: reg.sessionId }, new Metadata(), DEADLINE(), cb)),
    );
    t.is((beat as ServiceError).code, status.PERMISSION_DENIED, 'heartbeat as another node');
    const report = await t.throwsAsync(
      call((cb) =>
        d2.updateTaskStatus(
          { nodeId: w1.nodeId, sessionId: reg.sessionId, updates: [] },
          new Metadata(),
          DEADLINE(),
          cb,
        ),
      ),
    );
    t.is((report as ServiceError).code, status.PERMISSION_DENIED, 'report tasks as another node');
    await call((cb) => d1.heartbeat({ nodeId: w1.nodeId, sessionId: reg.sessionId }, new Metadata(), DEADLINE(), cb));

    // The admin cannot use the Dispatcher (it is no node).
    const adminAsAgent = client(
      new DispatcherClient(addr, adminCredentials(join(cp.dir, 'm')), MANAGER_CHANNEL_OPTIONS),
    );
    const e4 = await t.throwsAsync(
      call((cb) =>
        adminAsAgent.register(
          { joinToken: '', nodeId: '', description: description('x') },
          new Metadata(),
          DEADLINE(),
          cb,
        ),
      ),
    );
    t.is((e4 as ServiceError).code, status.PERMISSION_DENIED);

    // Rotating the worker token: the old one cannot join; a node joined with it keeps working.
    const old = (await m.authority.tokens()).worker;
    const rotated = await m.authority.tokens({ worker: true });
    t.not(rotated.worker, old);
    const refused = await t.throwsAsync(joinCluster(m.joinAddress, old, 'late'));
    t.true(refused instanceof JoinError && refused.permanent);
    t.regex(refused.message, /not valid/);
    await call((cb) => d1.heartbeat({ nodeId: w1.nodeId, sessionId: reg.sessionId }, new Metadata(), DEADLINE(), cb));
    const fresh = await joinCluster(m.joinAddress, rotated.worker, 'late');
    t.truthy(fresh.id);

    // A token whose digest is not this CA's (another cluster, or a man in the middle): refused before the CSR.
    const parts = rotated.worker.split('-');
    const forged = `SHOAL-1-${'z'.repeat(50)}-${parts[3]}`;
    const mitm = await t.throwsAsync(joinCluster(m.joinAddress, forged, 'evil'));
    t.regex(mitm.message, /does not match the join token's digest/);

    // node rm --force of a live node: its certificate is refused from then on.
    await call((cb) => admin.removeNode({ ref: w1.nodeId, force: true }, new Metadata(), DEADLINE(), cb));
    const gone = await t.throwsAsync(
      call((cb) =>
        d1.register({ joinToken: '', nodeId: '', description: description('host1') }, new Metadata(), DEADLINE(), cb),
      ),
    );
    t.is((gone as ServiceError).code, status.PERMISSION_DENIED);
    t.regex((gone as ServiceError).details, /was removed from the cluster/);
    const renew = await t.throwsAsync(
      call((cb) => d1.renewCertificate({ csrPem: 'x' }, new Metadata(), DEADLINE(), cb)),
    );
    t.not((renew as ServiceError).code, status.OK);

    // The worker's own renewal works (same id).
    const { newKeyAndCsr, certificateInfo } = await import('../../../../proto/pki/x509.js');
    const { csrPem } = await newKeyAndCsr();
    const renewed = await call<{ certPem: string }>((cb) =>
      d2.renewCertificate({ csrPem }, new Metadata(), DEADLINE(), cb),
    );
    t.is(certificateInfo(renewed.certPem).id, w2.nodeId);
    t.is(certificateInfo(renewed.certPem).role, 'worker');
    void managerCredentials;
  } finally {
    for (const c of clients) c.close();
    await m.close();
    await cp.close();
  }
});
