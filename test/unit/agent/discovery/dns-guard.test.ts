// The agent's DNS is not an open resolver: outside names are forwarded only for this host's
// containers and loopback (anyone else: REFUSED, nothing sent upstream), and TCP
// connections are capped (a further one is closed at once, and accepted again once one ends).
import net from 'node:net';
import test from 'ava';
import { DnsServer, MAX_TCP_CONNECTIONS } from '../../../../agent/discovery/dns-server.js';
import { ask, askers, FakeSource, rcode, server, upstream } from '../../../helpers/dns.js';
import { until } from '../../../helpers/until.js';

test('outside names: forwarded for a container and for loopback, REFUSED for a stranger', async (t) => {
  const { up, seen } = await upstream(t);
  const { port } = await server(t, { upstreams: [up] });
  const stranger = await ask(port, 'www.example.com', 'A', { from: '127.0.0.5', id: 9 });
  t.is(rcode(stranger), 'REFUSED');
  t.is(stranger.id, 9);
  t.deepEqual(stranger.answers, []);
  t.deepEqual(seen, [], 'nothing went upstream for the stranger');
  const overTcp = await ask(port, 'www.example.com', 'A', { from: '127.0.0.5', tcp: true });
  t.is(rcode(overTcp), 'REFUSED', 'over TCP too');
  t.deepEqual(seen, []);
  t.is(rcode(await ask(port, 'www.example.com', 'A', { from: '127.0.0.2' })), 'NOERROR', 'a container of this host');
  t.is(rcode(await ask(port, 'www.example.com', 'A', { from: '127.0.0.1' })), 'NOERROR', 'loopback (the host)');
  t.deepEqual(seen, ['www.example.com', 'www.example.com']);
});

test('cluster names of a stranger still get no records (scoped), and it is not forwarded', async (t) => {
  const { up, seen } = await upstream(t);
  const { port } = await server(t, { upstreams: [up] });
  const r = await ask(port, 'web', 'A', { from: '127.0.0.5' });
  t.deepEqual(r.answers, []);
  t.deepEqual(seen, []);
});

function connect(port: number): Promise<{ sock: net.Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.once('connect', () => resolve({ sock, closed }));
    sock.once('error', reject);
  });
}

test(`TCP: at most MAX_TCP_CONNECTIONS (${MAX_TCP_CONNECTIONS}) connections; a further one is closed at once`, async (t) => {
  const lines: string[] = [];
  const dns = new DnsServer({
    source: new FakeSource(),
    askers,
    upstreams: [],
    maxTcpConnections: 4,
    log: (l) => lines.push(l),
  });
  t.teardown(() => dns.close());
  await dns.setListen([{ host: '127.0.0.1', port: 0 }]);
  const port = dns.addresses()[0]!.port;
  const open = await Promise.all([1, 2, 3, 4].map(() => connect(port)));
  const fifth = await connect(port);
  let fifthClosed = false;
  void fifth.closed.then(() => (fifthClosed = true));
  await until(() => fifthClosed, 'the fifth connection is closed by the server');
  t.true(
    lines.some((l) => /4 TCP connections open: closing new ones/.test(l)),
    lines.join('\n'),
  );
  for (const c of open) t.false(c.sock.destroyed, 'the four stay open');
  // one ends: a new one is served (a query answered over it)
  open[0]!.sock.destroy();
  await open[0]!.closed;
  await until(async () => {
    const r = await ask(port, 'web', 'A', { from: '127.0.0.2', tcp: true }).catch(() => undefined);
    return r !== undefined && rcode(r) === 'NOERROR';
  }, 'a new connection is answered once one closed');
  for (const c of open.slice(1)) c.sock.destroy();
  t.pass();
});
