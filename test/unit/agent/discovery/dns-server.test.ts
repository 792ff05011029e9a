// The agent's DNS server over real UDP and TCP on 127.0.0.1, answering from a fake cache:
// A/SRV/NXDOMAIN rules, network scoping by the asker's source address (127.0.0.x clients),
// random order, truncation, forwarding to fake upstreams on loopback (never a real resolver).
import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { PortConfig, ServiceEndpoints, type Endpoint } from '../../../../proto/gen/shoal.js';
import type { EndpointSource } from '../../../../agent/discovery/cache.js';
import { meaning } from '../../../../agent/discovery/dns-answer.js';
import { DnsServer } from '../../../../agent/discovery/dns-server.js';
import type { AskerNetworks, AskerScope } from '../../../../agent/discovery/local-tasks.js';
import { parseResolvConf, parseUpstream, type Upstream } from '../../../../agent/discovery/upstream.js';

function ep(taskId: string, addresses: Array<[string, string]>): Partial<Endpoint> {
  return { taskId, serviceName: 'x', addresses: addresses.map(([network, ip]) => ({ network, ip })) };
}

function svc(name: string, partial: Partial<ServiceEndpoints>): ServiceEndpoints {
  return ServiceEndpoints.fromPartial({ name, exists: true, ...partial } as ServiceEndpoints);
}

const SERVICES = [
  svc('web', {
    networks: ['front', 'back'],
    ports: [
      PortConfig.fromPartial({ protocol: 'tcp', targetPort: 80, publishedPort: 8080 }),
      PortConfig.fromPartial({ protocol: 'tcp', targetPort: 443 }),
      PortConfig.fromPartial({ protocol: 'udp', targetPort: 53 }),
    ],
    endpoints: [
      ep('t1', [
        ['front', '10.0.1.2'],
        ['back', '10.1.1.2'],
      ]),
      ep('t2', [['front', '10.0.2.3']]),
      ep('t3', [['back', '10.1.3.4']]),
    ] as Endpoint[],
  }),
  svc('db', { networks: ['back'], endpoints: [ep('d1', [['back', '10.1.1.9']])] as Endpoint[] }),
  svc('my.api', { networks: ['front'], endpoints: [ep('a1', [['front', '10.0.1.7']])] as Endpoint[] }),
  svc('empty', { networks: ['front'] }),
  svc('big', {
    networks: ['front'],
    endpoints: Array.from({ length: 60 }, (_, i) => ep(`b${i}`, [['front', `10.0.3.${i + 1}`]])) as Endpoint[],
  }),
];

class FakeSource implements EndpointSource {
  names: string[] | undefined = SERVICES.map((s) => s.name);
  readonly services = new Map(SERVICES.map((s) => [s.name, s]));
  readonly lookups: string[] = [];
  unreachable = false;

  serviceName(name: string): string | null | undefined {
    if (this.names === undefined) return undefined;
    if (this.names.includes(name)) return name;
    return this.names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? null;
  }

  lookup(name: string): ServiceEndpoints | undefined {
    this.lookups.push(name);
    if (this.unreachable) return undefined;
    return this.services.get(name) ?? ServiceEndpoints.fromPartial({ name, exists: false });
  }
}

/** Askers by source address: each test client binds its own 127.0.0.x. */
const ASKERS: Record<string, AskerNetworks> = {
  '127.0.0.1': 'all',
  '127.0.0.2': new Set(['front']),
  '127.0.0.3': new Set(['back']),
  '127.0.0.4': new Set(['front', 'back']),
  '127.0.0.5': new Set(),
};
const askers: AskerScope = { networksOf: (ip) => ASKERS[ip] ?? new Set() };

async function server(
  t: ExecutionContext,
  opts: { upstreams?: Upstream[]; source?: FakeSource; forwardTimeoutMs?: number } = {},
) {
  const source = opts.source ?? new FakeSource();
  const lines: string[] = [];
  const dns = new DnsServer({
    source,
    askers,
    upstreams: opts.upstreams ?? [],
    forwardTimeoutMs: opts.forwardTimeoutMs ?? 300,
    log: (l) => lines.push(l),
  });
  t.teardown(() => dns.close());
  await dns.setListen([{ host: '127.0.0.1', port: 0 }]);
  const port = dns.addresses()[0]?.port ?? 0;
  t.not(port, 0);
  return { dns, port, source, lines };
}

interface AskOptions {
  from?: string;
  tcp?: boolean;
  edns?: number;
  id?: number;
}

function queryPacket(name: string, type: RecordType, opts: AskOptions): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals:
      opts.edns === undefined
        ? []
        : [
            {
              name: '.',
              type: 'OPT',
              udpPayloadSize: opts.edns,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ],
  });
}

async function ask(
  port: number,
  name: string,
  type: RecordType = 'A',
  opts: AskOptions = {},
): Promise<DecodedPacket & { bytes: number }> {
  const raw = await askRaw(port, queryPacket(name, type, opts), opts);
  return Object.assign(dnsPacket.decode(raw), { bytes: raw.length });
}

function askRaw(port: number, query: Buffer, opts: AskOptions): Promise<Buffer> {
  const from = opts.from ?? '127.0.0.1';
  if (opts.tcp) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      let buf = Buffer.alloc(0);
      s.setTimeout(3_000, () => reject(new Error('tcp query timed out')));
      s.on('error', reject);
      s.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        s.write(Buffer.concat([len, query]));
      });
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          s.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
    });
  }
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('udp query timed out'));
    }, 3_000);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg);
    });
    s.bind(0, from, () => s.send(query, port, '127.0.0.1'));
  });
}

const rcode = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;
/** The record's data and TTL (dns-packet's Answer union hides them behind OPT). */
const data = (a: Answer) => (a as Answer & { data: unknown }).data;
const ttl = (a: Answer | undefined): number | undefined => (a !== undefined && 'ttl' in a ? a.ttl : undefined);
const ips = (answers: Answer[] | undefined) =>
  (answers ?? []).filter((a) => a.type === 'A').map((a) => data(a) as string);
const sorted = (list: string[]) => [...list].sort();

/** A fake upstream resolver on 127.0.0.1 (UDP and TCP): answers NAME A 192.0.2.1. */
async function upstream(t: ExecutionContext) {
  const seen: string[] = [];
  const answer = (raw: Buffer): Buffer => {
    const q = dnsPacket.decode(raw);
    const name = q.questions?.[0]?.name ?? '';
    seen.push(name);
    return dnsPacket.encode({
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions ?? [],
      answers: [{ name, type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' }],
    });
  };
  // UDP on a port the kernel picks, then TCP on the same number: another test may hold that
  // number for TCP already, so pick again until both bind.
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    const port = udp.address().port;
    const tcp = tcpAnswering(answer);
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      udp.close();
      if (attempt < 20) continue;
      throw new Error('no port free for both UDP and TCP');
    }
    udp.on('message', (msg, rinfo) => udp.send(answer(msg), rinfo.port, rinfo.address));
    t.teardown(() => {
      udp.close();
      tcp.close();
    });
    return { up: { host: '127.0.0.1', port }, seen };
  }
}

function tcpAnswering(answer: (raw: Buffer) => Buffer): net.Server {
  return net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const res = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(res.length);
        s.end(Buffer.concat([len, res]));
      }
    });
    s.on('error', () => {});
  });
}

/** A UDP port that answers nothing (a dead resolver). */
async function silentUpstream(t: ExecutionContext): Promise<Upstream> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  s.on('message', () => {});
  t.teardown(() => s.close());
  return { host: '127.0.0.1', port: s.address().port };
}

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

test('forwarding: the next upstream after the timeout; SERVFAIL when none answers; TCP over TCP', async (t) => {
  const dead = await silentUpstream(t);
  const { up, seen } = await upstream(t);
  const { port } = await server(t, { upstreams: [dead, up], forwardTimeoutMs: 200 });
  const start = Date.now();
  const r = await ask(port, 'example.net', 'A');
  const took = Date.now() - start;
  t.deepEqual(ips(r.answers), ['192.0.2.1']);
  t.true(took >= 180 && took < 2_000, `took ${took} ms`);
  const viaTcp = await ask(port, 'tcp.example.net', 'A', { tcp: true });
  t.deepEqual(ips(viaTcp.answers), ['192.0.2.1']);
  t.deepEqual(seen, ['example.net', 'tcp.example.net']);

  const { port: lonely } = await server(t, { upstreams: [dead], forwardTimeoutMs: 100 });
  const fail = await ask(lonely, 'example.net', 'A');
  t.is(rcode(fail), 'SERVFAIL');
  t.is(fail.questions?.[0]?.name, 'example.net');
  const { port: none } = await server(t, { upstreams: [] });
  t.is(rcode(await ask(none, 'example.net', 'A')), 'SERVFAIL', 'no upstream at all');
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
  const dns = new DnsServer({
    source: new FakeSource(),
    askers,
    upstreams: [],
    log: (l) => lines.push(l),
    bindRetryMs: 50,
  });
  t.teardown(() => dns.close());
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const taken = (blocker.address() as AddressInfo).port;
  await dns.setListen([{ host: '127.0.0.1', port: taken }]);
  t.deepEqual(dns.addresses(), []);
  await new Promise((r) => setTimeout(r, 200));
  t.is(lines.filter((l) => l.includes('cannot listen')).length, 1, lines.join('\n'));
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  const end = Date.now() + 3_000;
  while (dns.addresses().length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(dns.addresses(), [{ host: '127.0.0.1', port: taken }]);
  t.is(rcode(await ask(taken, 'web', 'A', { from: '127.0.0.2' })), 'NOERROR');
  await dns.setListen([]);
  t.deepEqual(dns.addresses(), []);
});

// ---------------------------------------------------------------- pure parts

test('meaning: cluster names by the service list, names with dots, what is forwarded', (t) => {
  const names = (n: string) => (['web', 'my.api', 'tasks'].includes(n.toLowerCase()) ? n.toLowerCase() : null);
  t.like(meaning('web', names), { kind: 'service', service: 'web', form: 'name' });
  t.like(meaning('tasks.web', names), { kind: 'service', service: 'web', form: 'tasks' });
  t.like(meaning('abc.tasks.my.api', names), { kind: 'service', service: 'my.api', form: 'task', taskId: 'abc' });
  t.like(meaning('_web._tcp', names), { kind: 'service', service: 'web', form: 'srv', proto: 'tcp' });
  t.like(meaning('tasks', names), { kind: 'service', service: 'tasks', form: 'name' });
  t.like(meaning('my.api.', names), { kind: 'service', service: 'my.api', form: 'name' });
  t.deepEqual(meaning('api', names), { kind: 'nxdomain' });
  t.deepEqual(meaning('tasks.api.example', names), { kind: 'nxdomain' });
  t.deepEqual(meaning('www.example.com', names), { kind: 'forward' });
  t.deepEqual(meaning('web.example.com', names), { kind: 'forward' });
  t.deepEqual(meaning('', names), { kind: 'forward' });
  const unknown = () => undefined;
  t.like(meaning('web', unknown), { kind: 'service', service: 'web', form: 'name' });
  t.like(meaning('tasks.web', unknown), { kind: 'service', service: 'web', form: 'tasks' });
  t.deepEqual(meaning('my.api', unknown), { kind: 'forward' });
});

test('upstreams: flags and resolv.conf', (t) => {
  t.deepEqual(parseUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53 });
  t.deepEqual(parseUpstream('10.0.0.2:5353'), { host: '10.0.0.2', port: 5353 });
  t.deepEqual(parseUpstream('[fd00::1]:54'), { host: 'fd00::1', port: 54 });
  t.deepEqual(parseUpstream('fd00::1'), { host: 'fd00::1', port: 53 });
  t.is(parseUpstream('dns.example.com'), undefined);
  t.is(parseUpstream('10.0.0.300'), undefined);
  t.is(parseUpstream('10.0.0.2:0'), undefined);
  t.deepEqual(
    parseResolvConf(
      '# x\nsearch lan\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:1\n',
    ),
    [
      { host: '10.255.255.53', port: 53 },
      { host: 'fe80::1', port: 53 },
    ],
  );
});
