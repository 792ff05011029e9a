// The embedded etcd and nats-server (real processes): they listen on 127.0.0.1 only, refuse
// a client without the manager's credentials (etcd: no client certificate of the state dir's
// CA, plaintext or TLS; NATS: no or a wrong password), and serve the manager's. The state
// dir ends up 0700 and every key and password in it 0600.
import test from 'ava';
import { Etcd3 } from 'etcd3';
import https from 'node:https';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { etcdCredentials, etcdGrpcOptions, natsOptions } from '../../../manager/config/connections.js';
import { startEtcd, startNats } from '../../helpers/control-plane.js';
import { freePort } from '../../helpers/ports.js';
import { embeddedNats } from '../../../manager/embedded.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** The local addresses of the TCP sockets listening on `port` (from /proc/net/tcp and tcp6). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local?.endsWith(`:${hexPort}`)) continue;
      const addr = local.split(':')[0]!;
      out.push(
        addr.length === 8
          ? addr
              .match(/../g)!
              .reverse()
              .map((h) => parseInt(h, 16))
              .join('.')
          : addr,
      );
    }
  }
  return out;
}

/** GET https://127.0.0.1:port/version with the CA and optionally a client pair: the status, or the error. */
function get(port: number, ca: string, pair?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/version', ca, servername: 'localhost', ...pair, timeout: 5_000 },
      (res) => {
        res.resume();
        resolve(String(res.statusCode));
      },
    );
    req.on('error', (err) => resolve(`error: ${err.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

test("embedded etcd: 127.0.0.1 only; plaintext and certificate-less clients are refused, the manager's certificate gets in", async (t) => {
  t.timeout(60_000);
  const etcd = await startEtcd('shoal-embedded-etcd-');
  t.teardown(() => etcd.close());
  t.true(etcd.url.startsWith('https://127.0.0.1:'));
  t.deepEqual(listeners(etcd.port), ['127.0.0.1'], 'client port');
  t.deepEqual(listeners(etcd.port + 1), ['127.0.0.1'], 'peer port');

  t.is(mode(etcd.dir), '700');
  t.is(mode(join(etcd.dir, 'etcd-tls')), '700');
  for (const key of ['ca-key.pem', 'member-key.pem', 'client-key.pem'])
    t.is(mode(join(etcd.dir, 'etcd-tls', key)), '600', key);

  const tryClient = async (client: Etcd3): Promise<string> => {
    try {
      await client.put('shoal-probe').value('x').exec();
      return 'accepted';
    } catch (err) {
      t.log(`refused: ${(err as Error).message}`);
      return `refused: ${(err as Error).message}`;
    } finally {
      client.close();
    }
  };
  const plaintext = new Etcd3({ hosts: `http://127.0.0.1:${etcd.port}`, dialTimeout: 2_000 });
  t.regex(await tryClient(plaintext), /^refused/, 'plaintext client');
  const noCert = new Etcd3({
    hosts: etcd.url,
    dialTimeout: 2_000,
    credentials: { rootCertificate: Buffer.from(etcd.tls.ca) },
    grpcOptions: etcdGrpcOptions(etcd.tls),
  });
  t.regex(await tryClient(noCert), /^refused/, 'TLS client without a certificate');
  const manager = new Etcd3({
    hosts: etcd.url,
    credentials: etcdCredentials(etcd.tls),
    grpcOptions: etcdGrpcOptions(etcd.tls),
  });
  t.is(await tryClient(manager), 'accepted');

  // The same on the HTTP side of both ports (the peer port too: a local process cannot pose as a member).
  for (const port of [etcd.port, etcd.port + 1]) {
    t.regex(await get(port, etcd.tls.ca), /^error/, `port ${port} without a certificate`);
    t.is(await get(port, etcd.tls.ca, { cert: etcd.tls.cert!, key: etcd.tls.key! }), '200', `port ${port}`);
  }
});

test("embedded NATS: 127.0.0.1 only; no password or a wrong one is refused, the state dir's gets in", async (t) => {
  t.timeout(60_000);
  const nats = await startNats('shoal-embedded-nats-');
  t.teardown(() => nats.close());
  t.deepEqual(listeners(nats.port), ['127.0.0.1']);
  t.is(mode(nats.dir), '700');
  t.is(mode(join(nats.dir, 'nats-password')), '600');
  t.is(mode(join(nats.dir, 'nats.conf')), '600');
  t.is(readFileSync(join(nats.dir, 'nats-password'), 'utf8').trim(), nats.auth.pass ?? '');

  const attempt = async (opts: object): Promise<string> => {
    try {
      const nc = await connect({ servers: nats.url, reconnect: false, timeout: 5_000, ...opts });
      await nc.close();
      return 'accepted';
    } catch (err) {
      return `refused: ${(err as Error).message}`;
    }
  };
  t.regex(await attempt({}), /^refused: '?Authorization Violation/);
  t.regex(await attempt({ user: 'shoal', pass: 'wrong' }), /^refused: '?Authorization Violation/);
  t.is(await attempt(natsOptions(nats.auth)), 'accepted');
});

test('embedded NATS keeps its password across starts; an existing state dir is tightened to 0700', async (t) => {
  t.timeout(60_000);
  const dir = join(mkdtempSync(join(tmpdir(), 'shoal-embedded-')), 'state');
  t.teardown(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const port = await freePort();
  const first = embeddedNats(dir, port, () => {});
  await first.start();
  const pass = first.auth.pass;
  await first.close();
  t.is(mode(dir), '700');
  const second = embeddedNats(dir, port, () => {});
  await second.start();
  t.teardown(() => second.close());
  t.is(second.auth.pass, pass);
  const nc = await connect({ servers: second.url, reconnect: false, ...natsOptions({ user: 'shoal', pass }) });
  await nc.close();
  t.pass();
});
