// The agent's DNS server for the containers on its host (UDP and TCP, dns-packet).
//
//   containers -> Docker's embedded DNS (127.0.0.11) -> <gateway>:53 of their first network,
//   from the container's own address (HostConfig.Dns, see exec/docker/spec.ts)
//
//   query --decode--> meaning(name) (dns-answer.ts)
//     cluster name  -> cache.lookup (a name not yet watched: watch, wait <= 500 ms)
//                      -> records scoped to the networks the asker shares (by source address)
//                      no answer from the manager: SERVFAIL; no such service: NXDOMAIN
//     NXDOMAIN      -> single-label names, tasks.*, _x._tcp that are no service
//     forward       -> only for this host's containers (a task address, an address of this
//                      host's lease of a network) and loopback; anyone else: REFUSED (not
//                      an open resolver). The raw query to each upstream in turn (TCP for
//                      TCP), relayed as is; SERVFAIL when none answers
//   UDP answers over 512 bytes (or the query's EDNS size) are cut to what fits, with TC set.
//
// Listens on the addresses it is given (setListen: every ready network's gateway port 53 and
// --dns-listen); an address that cannot be bound (not there yet, in use) is retried. At most
// MAX_TCP_CONNECTIONS TCP connections at once (more are closed at once), each with at most
// MAX_TCP_PENDING queries unanswered, closed after TCP_IDLE_MS without a query.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import type { LifecycleState } from '../../proto/lifecycle.js';
import { systemClock, type Cancel, type Clock } from '../../proto/clock.js';
import { silentLog, type Log } from '../log.js';
import type { EndpointSource } from './cache.js';
import { meaning, records } from './dns-answer.js';
import type { AskerScope } from './local-tasks.js';
import { forward, FORWARD_TIMEOUT_MS, type Exchange, type Upstream } from './upstream.js';

/** An address that could not be bound is tried again this often. */
export const BIND_RETRY_MS = 3_000;
/** A TCP connection with no query for this long is closed. */
const TCP_IDLE_MS = 10_000;
/** TCP connections at once; a further one is closed at once (a container needs one or two). */
export const MAX_TCP_CONNECTIONS = 64;
/** Queries one TCP connection may have unanswered; a connection sending more is closed. */
const MAX_TCP_PENDING = 32;
/** Forwarded queries in flight at most (each holds a socket); more get SERVFAIL. */
const MAX_FORWARDS = 512;
/** Largest UDP answer we offer in our own OPT record (the DNS flag day's size). */
const OUR_UDP_SIZE = 1232;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;

/** dns-packet's per-record size (not in its type declarations). */
const answerLength = (dnsPacket as unknown as { answer: { encodingLength: (a: Answer) => number } }).answer
  .encodingLength;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DnsServerOptions {
  source: EndpointSource;
  askers: AskerScope;
  upstreams: Upstream[];
  log?: Log;
  random?: () => number;
  forwardTimeoutMs?: number;
  bindRetryMs?: number;
  /** The bind retry timers. */
  clock?: Clock;
  /** Tests: how one upstream is asked (default: upstream.ts' UDP and TCP exchanges). */
  exchange?: Exchange;
  /** Default MAX_TCP_CONNECTIONS. */
  maxTcpConnections?: number;
}

interface Binding {
  key: string;
  host: string;
  /** Asked for (0: any; the UDP socket's port is then taken for TCP too). */
  port: number;
  udp?: dgram.Socket;
  tcp?: net.Server;
  retry?: Cancel;
  closed: boolean;
  lastErr: string;
}

const key = (a: ListenAddress) => (net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

export class DnsServer {
  private readonly source: EndpointSource;
  private readonly askers: AskerScope;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly forwardTimeoutMs: number;
  private readonly bindRetryMs: number;
  private upstreams: Upstream[];
  private readonly bindings = new Map<string, Binding>();
  private readonly conns = new Set<net.Socket>();
  private readonly clock: Clock;
  private readonly exchange: Exchange | undefined;
  private forwarding = 0;
  private readonly maxTcpConnections: number;
  /** When a refused connection was last logged (one line per minute at most). */
  private lastTcpRefusalLog = -Infinity;
  /** Running from construction (listening where setListen says); close() stops it for good. */
  private state: LifecycleState = 'running';

  constructor(opts: DnsServerOptions) {
    this.source = opts.source;
    this.askers = opts.askers;
    this.upstreams = opts.upstreams;
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.forwardTimeoutMs = opts.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
    this.bindRetryMs = opts.bindRetryMs ?? BIND_RETRY_MS;
    this.clock = opts.clock ?? systemClock;
    this.exchange = opts.exchange;
    this.maxTcpConnections = opts.maxTcpConnections ?? MAX_TCP_CONNECTIONS;
  }

  setUpstreams(upstreams: Upstream[]): void {
    this.upstreams = upstreams;
  }

  /**
   * Listen on exactly these addresses (UDP and TCP each). Resolves once every new address was
   * tried once (bound, or its retry scheduled).
   */
  async setListen(addresses: ListenAddress[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map(addresses.map((a) => [key(a), a]));
    for (const [k, b] of this.bindings) {
      if (wanted.has(k)) continue;
      this.bindings.delete(k);
      this.unbind(b);
      this.log(`dns: no longer listening on ${k}`);
    }
    const fresh: Binding[] = [];
    for (const [k, a] of wanted) {
      if (this.bindings.has(k)) continue;
      const b: Binding = { key: k, host: a.host, port: a.port, closed: false, lastErr: '' };
      this.bindings.set(k, b);
      fresh.push(b);
    }
    await Promise.all(fresh.map((b) => this.bind(b)));
  }

  /** Where it listens now, with the bound ports (UDP and TCP share one). */
  addresses(): ListenAddress[] {
    const out: ListenAddress[] = [];
    for (const b of this.bindings.values()) {
      if (b.udp === undefined || b.tcp === undefined) continue;
      out.push({ host: b.host, port: b.udp.address().port });
    }
    return out;
  }

  /** Stop listening and close every connection (idempotent). */
  async close(): Promise<void> {
    this.state = 'stopped';
    for (const b of this.bindings.values()) this.unbind(b);
    this.bindings.clear();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
  }

  private get closed(): boolean {
    return this.state === 'stopped';
  }

  // ---------------------------------------------------------------- answering

  /** One query (raw) from `source` -> the raw answer, or undefined for none (not a query). */
  async answer(raw: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    if (raw.length < 12) return undefined;
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(raw);
    } catch {
      return headerOnly(raw, RCODE.FORMERR);
    }
    if (q.type === 'response') return undefined;
    const opcode = (raw.readUInt16BE(2) >> 11) & 0xf;
    if (opcode !== 0) return this.reply(q, 'NOTIMP', [], [], transport, false);
    const question = q.questions?.[0];
    if (question === undefined || q.questions?.length !== 1) return this.reply(q, 'FORMERR', [], [], transport, false);
    if ((question.class ?? 'IN') !== 'IN') return this.forwarded(raw, q, source, transport);

    const m = meaning(question.name, (n) => this.source.serviceName(n));
    if (m.kind === 'forward') return this.forwarded(raw, q, source, transport);
    if (m.kind === 'nxdomain') return this.reply(q, 'NXDOMAIN', [], [], transport, true);
    const se = await this.source.lookup(m.service);
    if (se === undefined) return this.reply(q, 'SERVFAIL', [], [], transport, false);
    if (!se.exists) return this.reply(q, 'NXDOMAIN', [], [], transport, true);
    const r = records(m, question.name, question.type, se, this.askers.networksOf(source), this.random);
    return this.reply(q, r.rcode, r.answers, r.additionals, transport, true);
  }

  /** Outside names are resolved for this host's containers and loopback only. */
  private mayForward(source: string): boolean {
    const networks = this.askers.networksOf(source);
    return networks === 'all' || networks.size > 0;
  }

  private async forwarded(raw: Buffer, q: DecodedPacket, source: string, transport: 'udp' | 'tcp'): Promise<Buffer> {
    if (!this.mayForward(source)) return this.reply(q, 'REFUSED', [], [], transport, false);
    if (this.forwarding >= MAX_FORWARDS || this.upstreams.length === 0)
      return this.reply(q, 'SERVFAIL', [], [], transport, false);
    this.forwarding++;
    try {
      const answer = await forward(raw, this.upstreams, transport, this.forwardTimeoutMs, this.exchange);
      return answer ?? this.reply(q, 'SERVFAIL', [], [], transport, false);
    } finally {
      this.forwarding--;
    }
  }

  private reply(
    q: DecodedPacket,
    rcode: Rcode,
    answers: Answer[],
    additionals: Answer[],
    transport: 'udp' | 'tcp',
    authoritative: boolean,
  ): Buffer {
    const opcode = ((q.flags ?? 0) >> 11) & 0xf;
    const flags =
      (opcode << 11) |
      (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
      (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) |
      dnsPacket.RECURSION_AVAILABLE |
      RCODE[rcode];
    const theirs = q.additionals?.find((a) => a.type === 'OPT');
    const opt: Answer[] =
      theirs === undefined
        ? []
        : [
            {
              name: '.',
              type: 'OPT',
              udpPayloadSize: OUR_UDP_SIZE,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ];
    const packet: Packet = {
      type: 'response',
      id: q.id ?? 0,
      flags,
      questions: q.questions ?? [],
      answers,
      authorities: [],
      additionals: [...additionals, ...opt],
    };
    const limit =
      transport === 'tcp'
        ? 65_535
        : theirs !== undefined && theirs.type === 'OPT'
          ? Math.min(4096, Math.max(512, theirs.udpPayloadSize))
          : 512;
    const size = dnsPacket.encodingLength(packet);
    if (size <= limit) return dnsPacket.encode(packet);
    // Too big for UDP: as many answers as fit, no additional records, TC set.
    let used = 12;
    for (const x of packet.questions ?? []) used += dnsPacket.encodingLength({ questions: [x] }) - 12;
    for (const a of opt) used += answerLength(a);
    const kept: Answer[] = [];
    for (const a of answers) {
      const n = answerLength(a);
      if (used + n > limit) break;
      used += n;
      kept.push(a);
    }
    return dnsPacket.encode({
      ...packet,
      flags: flags | dnsPacket.TRUNCATED_RESPONSE,
      answers: kept,
      additionals: opt,
    });
  }

  // ---------------------------------------------------------------- sockets

  /**
   * Binds UDP, then TCP on the same port. With port 0 the UDP port is the kernel's pick and
   * may already be taken for TCP: then another pick is tried at once (up to 20).
   */
  private async bind(b: Binding, attempt = 1): Promise<void> {
    let udp: dgram.Socket | undefined;
    let tcp: net.Server | undefined;
    try {
      udp = dgram.createSocket(net.isIPv6(b.host) ? 'udp6' : 'udp4');
      const u = udp;
      await new Promise<void>((resolve, reject) => {
        u.once('error', reject);
        u.bind(b.port, b.host, () => {
          u.off('error', reject);
          resolve();
        });
      });
      const port = u.address().port;
      tcp = net.createServer((sock) => this.serveTcp(sock));
      const t = tcp;
      await new Promise<void>((resolve, reject) => {
        t.once('error', reject);
        t.listen({ host: b.host, port }, () => {
          t.off('error', reject);
          resolve();
        });
      });
      if (b.closed || this.closed) {
        u.close();
        t.close();
        return;
      }
      b.udp = u;
      b.tcp = t;
      u.on('message', (msg, rinfo) => {
        this.answer(msg, rinfo.address, 'udp').then(
          (res) => {
            if (res === undefined || b.udp !== u) return;
            u.send(res, rinfo.port, rinfo.address, () => {});
          },
          (err: unknown) =>
            this.log(`dns: answering ${rinfo.address}: ${err instanceof Error ? err.message : String(err)}`),
        );
      });
      u.on('error', (err) => this.log(`dns: ${b.key} (udp): ${err.message}`));
      t.on('error', (err) => this.log(`dns: ${b.key} (tcp): ${err.message}`));
      this.log(`dns: listening on ${b.host}:${port} (udp, tcp)`);
      b.lastErr = '';
    } catch (err) {
      try {
        udp?.close();
      } catch {
        // not bound
      }
      tcp?.close();
      if (b.closed || this.closed) return;
      const why = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
      if (b.port === 0 && why === 'EADDRINUSE' && attempt < 20) return this.bind(b, attempt + 1);
      if (why !== b.lastErr)
        this.log(`dns: cannot listen on ${b.key}: ${why} (trying again every ${this.bindRetryMs / 1000} s)`);
      b.lastErr = why;
      b.retry = this.clock.after(this.bindRetryMs, () => void this.bind(b), { unref: true });
    }
  }

  private unbind(b: Binding): void {
    b.closed = true;
    b.retry?.();
    const { udp, tcp } = b;
    b.udp = undefined;
    b.tcp = undefined;
    try {
      udp?.close();
    } catch {
      // already closed
    }
    tcp?.close();
  }

  private serveTcp(sock: net.Socket): void {
    if (this.conns.size >= this.maxTcpConnections) {
      sock.destroy();
      const now = this.clock.now();
      if (now - this.lastTcpRefusalLog >= 60_000) {
        this.lastTcpRefusalLog = now;
        this.log(`dns: ${this.maxTcpConnections} TCP connections open: closing new ones (from ${sock.remoteAddress})`);
      }
      return;
    }
    this.conns.add(sock);
    let pending = 0;
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
    const source = sock.remoteAddress ?? '';
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const query = Buffer.from(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        if (++pending > MAX_TCP_PENDING) {
          sock.destroy();
          return;
        }
        this.answer(query, source, 'tcp').then(
          (res) => {
            pending--;
            if (res === undefined || sock.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(res.length);
            sock.write(Buffer.concat([len, res]));
          },
          () => sock.destroy(),
        );
      }
    });
  }
}

/** An answer with only the header (for a query that cannot be decoded). */
function headerOnly(raw: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(raw.readUInt16BE(0), 0);
  const flags = raw.readUInt16BE(2);
  out.writeUInt16BE(0x8000 | (flags & 0x7800) | (flags & 0x0100) | 0x0080 | rcode, 2);
  return out;
}
