// etcd and NATS of the bed refuse whoever lacks the credentials: on the plain bed the
// manager's embedded ones (127.0.0.1:12379 with the state dir's client certificate,
// 127.0.0.1:14222 with its password), with --managers/--etcd the bed's own (TLS, client
// certificates of the bed's CA). A client with them gets in; the state dirs are 0700.
import test from 'ava';
import https from 'node:https';
import http from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'nats';
import { BED, HOSTS, bedNatsOptions, waitNodesReady } from '../helpers/bed.js';

const STATE = '/var/lib/shoal-bed';
const TLS_DIR = BED.etcd > 0 ? `${STATE}/tls` : `${STATE}/manager1/etcd-tls`;
const ETCD_PORT = BED.etcd > 0 ? 22379 : 12379;
const pem = (f: string) => readFileSync(`${TLS_DIR}/${f}`, 'utf8');

/** GET /health on etcd's client port: the status code, or 'refused: ...'. */
function health(opts: { tls: boolean; cert?: boolean }): Promise<string> {
  return new Promise((resolve) => {
    const base = { host: '127.0.0.1', port: ETCD_PORT, path: '/health', timeout: 5_000 };
    const done = (res: http.IncomingMessage) => {
      res.resume();
      resolve(String(res.statusCode));
    };
    const req = opts.tls
      ? https.get(
          {
            ...base,
            ca: pem('ca.pem'),
            servername: 'localhost',
            ...(opts.cert ? { cert: pem('client.pem'), key: pem('client-key.pem') } : {}),
          },
          done,
        )
      : http.get(base, done);
    req.on('error', (err) => resolve(`refused: ${err.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function natsAttempt(opts: object): Promise<string> {
  try {
    const nc = await connect({ reconnect: false, timeout: 5_000, ...opts });
    await nc.close();
    return 'accepted';
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

test.before(async () => {
  await waitNodesReady();
});

test("etcd: a plaintext client and a TLS client without a certificate are refused; the manager's certificate gets in", async (t) => {
  const plain = await health({ tls: false });
  t.not(plain, '200', `plaintext: ${plain}`);
  t.regex(await health({ tls: true }), /^refused/, 'TLS without a client certificate');
  t.is(await health({ tls: true, cert: true }), '200');
});

test('NATS: a client without credentials is refused; with them it connects', async (t) => {
  const { servers, ...auth } = bedNatsOptions();
  const bare = await natsAttempt({ servers });
  t.regex(bare, /^refused/, bare);
  t.is(await natsAttempt({ servers, ...auth }), 'accepted');
});

test("the managers' and agents' state dirs are 0700", (t) => {
  const dirs = [
    ...Array.from({ length: BED.managers }, (_, i) => `${STATE}/manager${i + 1}`),
    ...HOSTS.map((h) => `${STATE}/${h}/agent`),
  ];
  for (const d of dirs) t.is((statSync(d).mode & 0o777).toString(8), '700', d);
});
