// The agent's DNS server for tests (agent/discovery/dns-server.ts): a fake endpoint source
// with a few services, askers by source address (each test client binds its own
// 127.0.0.x), queries over real UDP and TCP, and fake upstream resolvers on loopback (never a
// real resolver).
import dgram from 'node:dgram';
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import dnsPacket, { type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { PortConfig, ServiceEndpoints, type Endpoint } from '../../proto/gen/shoal.js';
import type { EndpointSource } from '../../agent/discovery/cache.js';
import { DnsServer } from '../../agent/discovery/dns-server.js';
import type { AskerNetworks, AskerScope } from '../../agent/discovery/local-tasks.js';
import type { Exchange, Upstream } from '../../agent/discovery/upstream.js';

/** A query without an answer fails after this long: a hang guard only, never a speed bound. */
export const QUERY_GUARD_MS = 30_000;

export function ep(taskId: string, addresses: Array<[string, string]>): Partial<Endpoint> {
  return { taskId, serviceName: 'x', addresses: addresses.map(([network, ip]) => ({ network, ip })) };
}

export function svc(name: string, partial: Partial<ServiceEndpoints>): ServiceEndpoints {
  return ServiceEndpoints.fromPartial({ name, exists: true, ...partial } as ServiceEndpoints);
}

export const SERVICES = [
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

export class FakeSource implements EndpointSource {
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
export const ASKERS: Record<string, AskerNetworks> = {
  '127.0.0.1': 'all',
  '127.0.0.2': new Set(['front']),
  '127.0.0.3': new Set(['back']),
  '127.0.0.4': new Set(['front', 'back']),
  '127.0.0.5': new Set(),
};
export const askers: AskerScope = { networksOf: (ip) => ASKERS[ip] ?? new Set() };

/** A DnsServer on 127.0.0.1 (a port of the kernel's choice), closed when the test ends. */
export async function server(
  t: ExecutionContext,
  opts: { upstreams?: Upstream[]; source?: FakeSource; forwardTimeoutMs?: number; exchange?: Exchange } = {},
) {
  const source = opts.source ?? new FakeSource();
  const lines: string[] = [];
  const dns = new DnsServer({
    source,
    askers,
    upstreams: opts.upstreams ?? [],
    forwardTimeoutMs: opts.forwardTimeoutMs ?? 300,
    log: (l) => lines.push(l),
    ...(opts.exchange !== undefined && { exchange: opts.exchange }),
  });
  t.teardown(() => dns.close());
  await dns.setListen([{ host: '127.0.0.1', port: 0 }]);
  const port = dns.addresses()[0]?.port ?? 0;
  t.not(port, 0);
  return { dns, port, source, lines };
}

export interface AskOptions {
  from?: string;
  tcp?: boolean;
  edns?: number;
  id?: number;
}

export function queryPacket(name: string, type: RecordType, opts: AskOptions): Buffer {
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

export async function ask(
  port: number,
  name: string,
  type: RecordType = 'A',
  opts: AskOptions = {},
): Promise<DecodedPacket & { bytes: number }> {
  const raw = await askRaw(port, queryPacket(name, type, opts), opts);
  return Object.assign(dnsPacket.decode(raw), { bytes: raw.length });
}

export function askRaw(port: number, query: Buffer, opts: AskOptions): Promise<Buffer> {
  const from = opts.from ?? '127.0.0.1';
  if (opts.tcp) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      let buf = Buffer.alloc(0);
      s.setTimeout(QUERY_GUARD_MS, () => reject(new Error('tcp query timed out')));
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
    }, QUERY_GUARD_MS);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg);
    });
    s.bind(0, from, () => s.send(query, port, '127.0.0.1'));
  });
}

export const rcode = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;
/** The record's data and TTL (dns-packet's Answer union hides them behind OPT). */
export const data = (a: Answer) => (a as Answer & { data: unknown }).data;
export const ttl = (a: Answer | undefined): number | undefined => (a !== undefined && 'ttl' in a ? a.ttl : undefined);
export const ips = (answers: Answer[] | undefined) =>
  (answers ?? []).filter((a) => a.type === 'A').map((a) => data(a) as string);
export const sorted = (list: string[]) => [...list].sort();

/** A fake upstream resolver on 127.0.0.1 (UDP and TCP): answers NAME A 192.0.2.1. */
export async function upstream(t: ExecutionContext) {
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

export function tcpAnswering(answer: (raw: Buffer) => Buffer): net.Server {
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

/** A UDP port that answers nothing (a dead resolver); `seen`: the names it was asked. */
export async function silentUpstream(t: ExecutionContext): Promise<{ up: Upstream; seen: string[] }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const seen: string[] = [];
  s.on('message', (msg) => seen.push(dnsPacket.decode(msg).questions?.[0]?.name ?? ''));
  t.teardown(() => s.close());
  return { up: { host: '127.0.0.1', port: s.address().port }, seen };
}
