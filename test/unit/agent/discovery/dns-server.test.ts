// The agent's DNS server over real UDP and TCP on 127.0.0.1, answering from a fake cache:
// A/SRV/NXDOMAIN rules, network scoping by the asker's source address (127.0.0.x clients),
// random order, truncation, listen addresses (forwarding is in upstream.test.ts, the names'
// meaning in dns-answer.test.ts).
import net, { type AddressInfo } from 'node:net';
import test from 'ava';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { DnsServer } from '../../../../agent/discovery/dns-server.js';
import { until } from '../../../helpers/until.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import {
  ask,
  askers,
  askRaw,
  data,
  FakeSource,
  ips,
  queryPacket,
  rcode,
  server,
  sorted,
  ttl,
  upstream,
} from '../../../helpers/dns.js';

// ---------------------------------------------------------------- A records and scoping

test('NAME and tasks.NAME: A records of the endpoints on the networks the asker shares, TTL 2 s', async (t) => {
  const { port } = await server(t);
  const front = await ask(port, 'web', 'A', { from: '127.0.0.2' });
  t.is(rcode(front), 'NOERROR');
  t.true(front.flag_aa);
  t.deepEqual(sorted(ips(front.answers)), ['10.0.1.2', '10.0.2.3']);
  t.true((front.answers ?? []).every((a) => a.type === 'A' && ttl(a) === 2 && a.name === 'web'));
  t.deepEqual(sorted(ips((await ask(port, 'web', 'A', { from: '127.0.0.3' })).answers)), ['10.1.1.2', '10.1.3.4']);
  // On both networks: each task once, on the first network of the service it shares.
  t.deepEqual(sorted(ips((await ask(port, 'tasks.web', 'A', { from: '127.0.0.4' })).answers)), [
    '10.0.1.2',
    '10.0.2.3',
    '10.1.3.4',
  ]);
  const loud = await ask(port, 'Tasks.WEB.', 'A', { from: '127.0.0.2' });
  t.deepEqual(sorted(ips(loud.answers)), ['10.0.1.2', '10.0.2.3'], 'case-insensitive, trailing dot');
  t.is(loud.answers?.[0]?.name, 'Tasks.WEB', 'answers echo the name as asked');
  t.deepEqual(
    ips((await ask(port, 'my.api', 'A', { from: '127.0.0.2' })).answers),
    ['10.0.1.7'],
    'a service name with a dot',
  );
  t.deepEqual(
    ips((await ask(port, 'web', 'A', { from: '127.0.0.1' })).answers).length,
    3,
    'loopback (the host) sees every network',
  );
});

test('a service that shares no network with the asker is NXDOMAIN; one with no endpoints is NOERROR, empty', async (t) => {
  const { port } = await server(t);
  t.is(rcode(await ask(port, 'db', 'A', { from: '127.0.0.2' })), 'NXDOMAIN');
  t.deepEqual(ips((await ask(port, 'db', 'A', { from: '127.0.0.3' })).answers), ['10.1.1.9']);
  t.is(rcode(await ask(port, 'web', 'A', { from: '127.0.0.5' })), 'NXDOMAIN', 'an address of no network');
  const empty = await ask(port, 'empty', 'A', { from: '127.0.0.2' });
  t.is(rcode(empty), 'NOERROR');
  t.is(empty.answers?.length, 0);
});

test('<task id>.tasks.NAME -> that task; AAAA and other types of a known name: NOERROR, no answers', async (t) => {
  const { port } = await server(t);
  t.deepEqual(ips((await ask(port, 't2.tasks.web', 'A', { from: '127.0.0.2' })).answers), ['10.0.2.3']);
  t.deepEqual(
    ips((await ask(port, 'T1.tasks.web', 'A', { from: '127.0.0.3' })).answers),
    ['10.1.1.2'],
    "its address on the asker's network",
  );
  t.is(rcode(await ask(port, 't3.tasks.web', 'A', { from: '127.0.0.2' })), 'NXDOMAIN', 'not on a shared network');
  t.is(rcode(await ask(port, 'zz.tasks.web', 'A', { from: '127.0.0.2' })), 'NXDOMAIN');
  for (const type of ['AAAA', 'TXT', 'MX'] as const) {
    const r = await ask(port, 'web', type, { from: '127.0.0.2' });
    t.is(rcode(r), 'NOERROR', type);
    t.is(r.answers?.length, 0, type);
  }
});

test('answers come in random order', async (t) => {
  const { port } = await server(t);
  const orders = new Set<string>();
  for (let i = 0; i < 30 && orders.size < 3; i++)
    orders.add(ips((await ask(port, 'web', 'A', { from: '127.0.0.4' })).answers).join(','));
  t.true(orders.size >= 2, `orders seen: ${[...orders].join(' | ')}`);
});

// ---------------------------------------------------------------- SRV

test('SRV: one per endpoint per target port, target <task id>.tasks.NAME, A records in the additional section', async (t) => {
  const { port } = await server(t);
  for (const name of ['web', 'tasks.web']) {
    const r = await ask(port, name, 'SRV', { from: '127.0.0.2' });
    t.is(rcode(r), 'NOERROR');
    const srv = (r.answers ?? []).map(
      (a) => data(a) as { priority: number; weight: number; port: number; target: string },
    );
    t.deepEqual(sorted(srv.map((s) => `${s.target}:${s.port}`)), [
      't1.tasks.web:443',
      't1.tasks.web:53',
      't1.tasks.web:80',
      't2.tasks.web:443',
      't2.tasks.web:53',
      't2.tasks.web:80',
    ]);
    t.true(srv.every((s) => s.priority === 0 && s.weight === 1));
    t.deepEqual(
      sorted((r.additionals ?? []).filter((a) => a.type === 'A').map((a) => `${a.name}=${String(data(a))}`)),
      ['t1.tasks.web=10.0.1.2', 't2.tasks.web=10.0.2.3'],
    );
  }
  const tcp = await ask(port, '_web._tcp', 'SRV', { from: '127.0.0.2' });
  t.deepEqual(sorted((tcp.answers ?? []).map((a) => String((data(a) as { port: number }).port))), [
    '443',
    '443',
    '80',
    '80',
  ]);
  const udp = await ask(port, '_web._udp', 'SRV', { from: '127.0.0.2' });
  t.deepEqual(
    (udp.answers ?? []).map((a) => (data(a) as { port: number }).port),
    [53, 53],
    'udp target ports only',
  );
  const none = await ask(port, '_db._tcp', 'SRV', { from: '127.0.0.3' });
  t.is(rcode(none), 'NOERROR', 'a service without ports');
  t.is(none.answers?.length, 0);
});

// ---------------------------------------------------------------- NXDOMAIN and forwarding

test('NXDOMAIN for single-label names, tasks.* and _x._tcp that are no service; dotted names are forwarded', async (t) => {
  const { up, seen } = await upstream(t);
  const { port, source } = await server(t, { upstreams: [up] });
  for (const name of ['nosuch', 'tasks.nosuch', 'x.tasks.nosuch', '_nosuch._tcp', 'tasks.web.example']) {
    const r = await ask(port, name, 'A', { from: '127.0.0.2' });
    t.is(rcode(r), 'NXDOMAIN', name);
    t.true(r.flag_aa, name);
  }
  t.deepEqual(
    source.lookups.filter((n) => n.startsWith('nosuch')),
    [],
    'a name not in the list is never looked up',
  );
  t.deepEqual(seen, [], 'nothing of that went upstream');
  const ext = await ask(port, 'www.example.com', 'A', { from: '127.0.0.2', id: 777 });
  t.is(rcode(ext), 'NOERROR');
  t.is(ext.id, 777);
  t.deepEqual(ips(ext.answers), ['192.0.2.1']);
  t.is(ttl(ext.answers?.[0]), 300, "the upstream's answer, as it is");
  t.false(ext.flag_aa);
  t.deepEqual(seen, ['www.example.com']);
  const ext6 = await ask(port, 'web.example.org', 'AAAA', { from: '127.0.0.2' });
  t.is(rcode(ext6), 'NOERROR');
  t.deepEqual(seen, ['www.example.com', 'web.example.org'], 'a dotted name that is no service is not ours');
});

test('manager unreachable and the name not cached: SERVFAIL, not NXDOMAIN; names not known yet: only cluster-shaped names are looked up', async (t) => {
  const { up, seen } = await upstream(t);
  const source = new FakeSource();
  const { port } = await server(t, { source, upstreams: [up] });
  source.unreachable = true;
  const r = await ask(port, 'web', 'A', { from: '127.0.0.2' });
  t.is(rcode(r), 'SERVFAIL');
  t.false(r.flag_aa);
  source.unreachable = false;
  source.names = undefined; // no list from the manager yet
  t.deepEqual(sorted(ips((await ask(port, 'web', 'A', { from: '127.0.0.2' })).answers)), ['10.0.1.2', '10.0.2.3']);
  t.is(rcode(await ask(port, 'nosuch', 'A', { from: '127.0.0.2' })), 'NXDOMAIN', 'the manager says exists=false');
  t.deepEqual(ips((await ask(port, 'www.example.com', 'A', { from: '127.0.0.2' })).answers), ['192.0.2.1']);
  t.deepEqual(seen, ['www.example.com']);
});

// ---------------------------------------------------------------- sizes and transports

test('UDP answers over 512 bytes (or the EDNS size) are cut with TC set; TCP gets everything', async (t) => {
  const { port } = await server(t);
  const udp = await ask(port, 'big', 'A', { from: '127.0.0.2' });
  t.true(udp.flag_tc);
  t.true(udp.bytes <= 512, `${udp.bytes} bytes`);
  t.true((udp.answers?.length ?? 0) > 0 && (udp.answers?.length ?? 0) < 60, `${udp.answers?.length} answers`);
  const edns = await ask(port, 'big', 'A', { from: '127.0.0.2', edns: 4096 });
  t.false(edns.flag_tc);
  t.is(edns.answers?.length, 60);
  t.truthy(
    edns.additionals?.find((a) => a.type === 'OPT'),
    'EDNS answered with EDNS',
  );
  const small = await ask(port, 'big', 'A', { from: '127.0.0.2', edns: 700 });
  t.true(small.flag_tc);
  t.true(small.bytes <= 700);
  const tcp = await ask(port, 'big', 'A', { from: '127.0.0.2', tcp: true });
  t.false(tcp.flag_tc);
  t.is(tcp.answers?.length, 60);
  const srv = await ask(port, 'big', 'SRV', { from: '127.0.0.2', tcp: true });
  t.is(rcode(srv), 'NOERROR');
});

test('TCP: scoped by the source address too, several queries on one connection', async (t) => {
  const { port } = await server(t);
  t.deepEqual(sorted(ips((await ask(port, 'web', 'A', { from: '127.0.0.3', tcp: true })).answers)), [
    '10.1.1.2',
    '10.1.3.4',
  ]);
  // Two queries in one write: two answers, each with its id.
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    const frame = (q: Buffer) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('connect', () =>
      s.write(Buffer.concat([frame(queryPacket('web', 'A', { id: 1 })), frame(queryPacket('db', 'A', { id: 2 }))])),
    );
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      let off = 0;
      let n = 0;
      while (buf.length >= off + 2 && buf.length >= off + 2 + buf.readUInt16BE(off)) {
        off += 2 + buf.readUInt16BE(off);
        n++;
      }
      if (n === 2) {
        s.destroy();
        resolve(buf);
      }
    });
  });
  const first = dnsPacket.decode(raw.subarray(2, 2 + raw.readUInt16BE(0)));
  const rest = raw.subarray(2 + raw.readUInt16BE(0));
  const second = dnsPacket.decode(rest.subarray(2, 2 + rest.readUInt16BE(0)));
  const byId = new Map([first, second].map((p) => [p.id, p]));
  t.deepEqual(sorted(ips(byId.get(1)?.answers)), ['10.0.1.2', '10.0.2.3']);
  t.is(rcode(byId.get(2) as DecodedPacket), 'NXDOMAIN', 'db shares no network with 127.0.0.2');
});

test('garbage gets FORMERR or nothing; the server keeps answering', async (t) => {
  const { port } = await server(t);
  const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f]);
  const r = await askRaw(port, junk, {});
  t.is(r.readUInt16BE(0), 0x1234);
  t.is(r.readUInt16BE(2) & 0xf, 1, 'FORMERR');
  t.deepEqual(sorted(ips((await ask(port, 'web', 'A', { from: '127.0.0.2' })).answers)), ['10.0.1.2', '10.0.2.3']);
});

test('listen addresses follow setListen; one that cannot be bound is logged once and retried', async (t) => {
  const lines: string[] = [];
  const clock = new ManualClock();
  const dns = new DnsServer({
    source: new FakeSource(),
    askers,
    upstreams: [],
    log: (l) => lines.push(l),
    bindRetryMs: 50,
    clock,
  });
  t.teardown(() => dns.close());
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const taken = (blocker.address() as AddressInfo).port;
  await dns.setListen([{ host: '127.0.0.1', port: taken }]);
  t.deepEqual(dns.addresses(), []);
  t.deepEqual(clock.pending(), [50], 'tried again after bindRetryMs');
  for (let retry = 1; retry <= 3; retry++) {
    clock.advance(50);
    await until(() => clock.pending().length === 1, `retry ${retry} failed and the next one is due`);
  }
  t.is(lines.filter((l) => l.includes('cannot listen')).length, 1, `four tries, one line:\n${lines.join('\n')}`);
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  clock.advance(50);
  await until(() => dns.addresses().length > 0, 'bound once free');
  t.deepEqual(dns.addresses(), [{ host: '127.0.0.1', port: taken }]);
  t.deepEqual(clock.pending(), [], 'no more retries');
  t.is(rcode(await ask(taken, 'web', 'A', { from: '127.0.0.2' })), 'NOERROR');
  await dns.setListen([]);
  t.deepEqual(dns.addresses(), []);
});
