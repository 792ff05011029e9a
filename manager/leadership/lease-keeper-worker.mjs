// The leader lease's keepalive, in a worker thread (see lease-keeper.ts): its own event loop
// and its own etcd connection, so a main loop busy with 1,000 agents cannot delay the
// renewals until etcd expires the lease. Plain JavaScript: a worker does not inherit the
// TypeScript loader the manager was started with.
//
//   main -> worker: { type: 'keep', leaseId } | { type: 'stop' }
//   worker -> main: { type: 'lost', leaseId, reason }   (once per lease)
import { parentPort, workerData } from 'node:worker_threads';
import { Etcd3 } from 'etcd3';
import { ConsecutiveBreaker, circuitBreaker, handleAll, noop } from 'cockatiel';

const { endpoints, tls, renewMs, deadlineMs, stepDownAfterMs } = workerData;

const etcd = new Etcd3({
  hosts: endpoints,
  // As config/connections.ts etcdCredentials (a worker cannot load TypeScript).
  ...(tls
    ? {
        credentials: {
          rootCertificate: Buffer.from(tls.ca),
          ...(tls.cert && tls.key ? { certChain: Buffer.from(tls.cert), privateKey: Buffer.from(tls.key) } : {}),
        },
      }
    : {}),
  dialTimeout: 2_000,
  grpcOptions: {
    'grpc.use_local_subchannel_pool': 1,
    ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {}),
  },
  faultHandling: {
    // As the manager's own client: a failed member is skipped for a second (with one
    // member there is nowhere else to go, so no breaker).
    host: () =>
      endpoints.length > 1
        ? circuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(1) })
        : noop,
    global: noop,
  },
});

let leaseId = '';
let lastRenewed = 0;
let timer;
let stream;
/** leaseId -> resolve of the renewal waiting for etcd's answer */
const waiting = new Map();

function openStream() {
  if (stream) return stream;
  const opening = etcd.leaseClient.leaseKeepAlive().then(
    (s) => {
      s.on('data', (res) => {
        const done = waiting.get(String(res.ID));
        if (done) done(Number(res.TTL));
      });
      const drop = () => {
        if (stream === opening) stream = undefined;
      };
      s.on('error', drop);
      s.on('end', drop);
      return s;
    },
    (err) => {
      if (stream === opening) stream = undefined;
      throw err;
    },
  );
  stream = opening;
  return opening;
}

/** One renewal: resolves with etcd's TTL (0 or less: etcd does not know the lease). */
async function renewOnce(id) {
  let timeout;
  try {
    return await Promise.race([
      openStream().then((s) => {
        const answer = new Promise((resolve) => waiting.set(id, resolve));
        s.write({ ID: id });
        return answer;
      }),
      new Promise((_, reject) => {
        timeout = setTimeout(() => reject(new Error(`no answer from etcd in ${deadlineMs} ms`)), deadlineMs);
      }),
    ]);
  } finally {
    clearTimeout(timeout);
    waiting.delete(id);
  }
}

function lost(id, reason) {
  if (leaseId !== id) return;
  leaseId = '';
  clearTimeout(timer);
  parentPort.postMessage({ type: 'lost', leaseId: id, reason });
}

async function tick() {
  const id = leaseId;
  if (!id) return;
  try {
    const ttl = await renewOnce(id);
    if (leaseId !== id) return;
    if (ttl <= 0) return lost(id, 'lease expired');
    lastRenewed = Date.now();
  } catch (err) {
    if (leaseId !== id) return;
    // A stream that timed out may be stuck on a dead member: the next try opens another.
    const old = stream;
    stream = undefined;
    old?.then(
      (s) => {
        try {
          s.end();
          s.cancel();
        } catch {
          // gone already
        }
      },
      () => {},
    );
    if (Date.now() - lastRenewed > stepDownAfterMs)
      return lost(id, `cannot renew the lease for ${stepDownAfterMs / 1000}s: ${err.message}`);
  }
  if (leaseId === id) timer = setTimeout(tick, renewMs);
}

parentPort.on('message', (m) => {
  if (m.type === 'keep') {
    clearTimeout(timer);
    leaseId = m.leaseId;
    lastRenewed = Date.now();
    timer = setTimeout(tick, renewMs);
  } else if (m.type === 'stop') {
    clearTimeout(timer);
    leaseId = '';
  }
});
